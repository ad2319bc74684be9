"""``squeezelab trigger create|list|show|update|delete|deliveries``: CI triggers (changing
them needs an ``admin`` token).

Secrets never go on the command line (shell history, the process list): ``--secret-env`` and
``--status-token-env`` name environment variables to read them from. Without a secret,
``create`` has the API generate one and prints it once, alone on stdout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from client.models import Delivery, Trigger
from squeezelab.remote import api_errors, err, out, remote

app = typer.Typer(no_args_is_help=True,
                  help="CI triggers: webhook deliveries that start sweeps (admin to change).")

IdArg = Annotated[int, typer.Argument(min=1, metavar="ID", help="The trigger id.")]
EventOpt = Annotated[list[str] | None, typer.Option(
    "--event", "-e", help="push, tag, pull_request or release; repeat for several.")]
BranchOpt = Annotated[list[str] | None, typer.Option(
    "--branch", "-b", help="Branch glob (e.g. main, release/*); repeat; none: every branch.")]
TemplateOpt = Annotated[Path | None, typer.Option(
    "--template", "-t", exists=True, dir_okay=False, readable=True,
    help="Sweep spec template (YAML/JSON) using ${sha}, ${ref}, ${repo}, ${pr}.")]
SecretEnvOpt = Annotated[str | None, typer.Option(
    "--secret-env", metavar="VAR", help="Read the webhook secret from this variable.")]
TokenEnvOpt = Annotated[str | None, typer.Option(
    "--status-token-env", metavar="VAR",
    help="Read a GitHub/GitLab token from this variable and post commit statuses.")]
ApiBaseOpt = Annotated[str | None, typer.Option(
    "--status-api-base", help="Status API base URL (GitHub Enterprise, self-hosted GitLab).")]
StatusApiOpt = Annotated[str | None, typer.Option(
    "--status-api", help="github or gitlab (default: the provider; needed for generic).")]


def _env(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        err.print(f"[red]error:[/] {escape(what)}: the variable {escape(name)} is not set")
        raise typer.Exit(2)
    return value


def _template(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        err.print(f"[red]error:[/] {escape(str(path))} is not a mapping (a sweep spec)")
        raise typer.Exit(2)
    return data


def _statuses(token_env: str | None, api: str | None,
              api_base: str | None) -> dict[str, Any] | None:
    token = _env(token_env, "--status-token-env")
    if token is None:
        return None
    return {k: v for k, v in {"token": token, "api": api, "api_base": api_base}.items() if v}


def triggers_table(triggers: list[Trigger]) -> Table:
    table = Table(title="triggers")
    for col in ("id", "name", "provider", "repository", "events", "branches", "statuses",
                "enabled"):
        table.add_column(col, justify="right" if col == "id" else "left")
    for t in triggers:
        statuses = f"{t.statuses.api} {t.statuses.api_base}" if t.statuses else "–"
        table.add_row(str(t.id), escape(t.name), t.provider, escape(t.repository),
                      escape(", ".join(t.events)), escape(", ".join(t.branches) or "*"),
                      escape(statuses), "yes" if t.enabled else "[yellow]no[/]")
    return table


def deliveries_table(deliveries: list[Delivery]) -> Table:
    table = Table(title="webhook deliveries")
    for col in ("received", "provider", "delivery", "event", "repository", "sha", "outcome",
                "sweeps", "reason"):
        table.add_column(col, overflow="fold")
    for d in deliveries:
        table.add_row(d.received_at.strftime("%Y-%m-%d %H:%M:%S"), d.provider,
                      escape(d.delivery_id), escape(d.event), escape(d.repository or "–"),
                      (d.sha or "–")[:12], d.outcome, ", ".join(map(str, d.sweep_ids)),
                      escape(d.reason))
    return table


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the trigger is for.")],
    provider: Annotated[str, typer.Option(help="github, gitlab or generic.")],
    repo: Annotated[str, typer.Option(help="owner/name (GitLab: group/.../project).")],
    template: Annotated[Path, typer.Option(
        "--template", "-t", exists=True, dir_okay=False, readable=True,
        help="Sweep spec template (YAML/JSON) using ${sha}, ${ref}, ${repo}, ${pr}.")],
    event: EventOpt = None, branch: BranchOpt = None, secret_env: SecretEnvOpt = None,
    status_token_env: TokenEnvOpt = None, status_api: StatusApiOpt = None,
    status_api_base: ApiBaseOpt = None,
) -> None:
    """Create a trigger; a generated secret is printed once, alone on stdout."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        created = client.create_trigger(
            name, provider, repo, _template(template), events=event or ["push"],
            branches=branch or [], secret=_env(secret_env, "--secret-env"),
            statuses=_statuses(status_token_env, status_api, status_api_base))
    err.print(f"trigger {created.id} {escape(created.name)}: {created.provider} "
              f"{escape(created.repository)} on {escape(', '.join(created.events))}")
    err.print(f"webhook URL: {escape(api.api_url.rstrip('/'))}/api/v1/webhooks/"
              f"{created.provider}")
    if created.secret is not None:
        err.print("webhook secret (shown only this once; paste it into the webhook settings):")
        out.out(created.secret, highlight=False)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List triggers (never their secrets or tokens)."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        out.print(triggers_table(client.list_triggers()))


@app.command("show")
def show(ctx: typer.Context, trigger_id: IdArg) -> None:
    """A trigger with its template, as YAML (no secret or token)."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        trigger = client.get_trigger(trigger_id)
    out.out(yaml.safe_dump(trigger.model_dump(mode="json"), sort_keys=False), highlight=False)


@app.command("update")
def update(
    ctx: typer.Context, trigger_id: IdArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    repo: Annotated[str | None, typer.Option(help="New repository.")] = None,
    event: EventOpt = None, branch: BranchOpt = None, template: TemplateOpt = None,
    secret_env: SecretEnvOpt = None, status_token_env: TokenEnvOpt = None,
    status_api: StatusApiOpt = None, status_api_base: ApiBaseOpt = None,
    no_statuses: Annotated[bool, typer.Option("--no-statuses",
                                              help="Stop posting commit statuses.")] = False,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable",
                                                 show_default=False)] = None,
) -> None:
    """Change a trigger; options left out stay as they are."""
    changes: dict[str, Any] = {"name": name, "repository": repo, "events": event,
                               "branches": branch, "enabled": enabled,
                               "secret": _env(secret_env, "--secret-env"),
                               "template": _template(template) if template else None,
                               "statuses": _statuses(status_token_env, status_api,
                                                     status_api_base)}
    changes = {k: v for k, v in changes.items() if v is not None}
    if no_statuses:
        changes["statuses"] = None
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        trigger = client.update_trigger(trigger_id, **changes)
    out.print(triggers_table([trigger]))


@app.command("delete")
def delete(ctx: typer.Context, trigger_id: IdArg) -> None:
    """Delete a trigger (its sweeps stay)."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        client.delete_trigger(trigger_id)
    out.print(f"trigger {trigger_id} deleted")


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option(help="github, gitlab or generic.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Recent authenticated webhook deliveries and what each did."""
    api = remote(ctx)
    with api_errors(api.api_url), api.client() as client:
        out.print(deliveries_table(client.list_deliveries(provider=provider, limit=limit)))
