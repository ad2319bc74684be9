"""``python -m api bootstrap-token``: create an admin token and print it (shown once)."""

from __future__ import annotations

import argparse

from api.db import Database
from api.services.tokens import create_token
from api.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    boot = commands.add_parser("bootstrap-token", help="create an admin token and print it")
    boot.add_argument("--name", default="admin", help="a label for the token")
    args = parser.parse_args(argv)
    db = Database(get_settings().database_url)
    try:
        with db.session() as session:
            _, text = create_token(session, args.name, ["admin"])
    finally:
        db.dispose()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
