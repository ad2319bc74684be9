"""``squeezelab token create|list|revoke``: API tokens (the caller's token needs ``admin``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from squeezelab.remote import api_errors, err, out, remote
from squeezelab.tables import tokens_table

app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API tokens (admin).")


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. ci-github.")],
    scope: Annotated[list[str], typer.Option(
        "--scope", "-s", help="metrics, read, write, worker or admin; repeat for "
        "several.")],
) -> None:
    """Create a token; its text is printed once, to stdout."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        created = client.create_token(name, scope)
    err.print(f"token {created.id} {escape(created.name)} "
              f"(scopes: {escape(', '.join(created.scopes))}):")
    # The secret alone on stdout, so `TOKEN=$(squeezelab token create ...)` works.
    out.out(created.token, highlight=False)
    err.print("[yellow]warning:[/] this is the only time the token is shown; store it now "
              "(e.g. as SQUEEZELAB_TOKEN). Only its hash is kept.")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List tokens (never their text). The sha256 column starts each token's hash: find
    yours with `printf %s "$SQUEEZELAB_TOKEN" | sha256sum`."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        out.print(tokens_table(client.list_tokens()))


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(min=1, metavar="ID", help="The token id.")],
) -> None:
    """Revoke a token: requests with it are refused from now on."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        client.revoke_token(token_id)
    out.print(f"token {token_id} revoked")

