"""Identity commands for operators.

    python -m services.identity.cli create-admin --phone 09121234567 --name "..." [--username admin]

The password is read from standard input when it is not a terminal (so it never
appears in the process list or the shell history), otherwise prompted twice. The
account is created verified: whoever runs this vouches for the phone. Connects with
IDENTITY_DATABASE_URL, like the service.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

import pasokh_common  # noqa: F401
from pasokh_common.context import CallContext
from pasokh_common.db import ConnectionPool
from pasokh_common.errors import PasokhError
from pasokh_common.settings import ServiceSettings

from services.identity.application import IdentityApplication
from services.identity.config import IdentityConfig
from services.identity.domain.errors import CodeNotSent


class NoSender:
    """The CLI never sends codes."""

    def send(self, user_id: str, phone: str, code: str, purpose: str, language: str) -> None:
        raise CodeNotSent("the CLI sends no codes")


def read_password(stdin: TextIO) -> str:
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise SystemExit("the passwords differ")
    return first


def _errors(error: PasokhError) -> str:
    lines = [f"{error.code}: {error.message_en}"]
    for field, messages in error.fields.items():
        for message in messages if isinstance(messages, list) else [messages]:
            english = message.get("en") if isinstance(message, dict) else message
            lines.append(f"  {field}: {english}")
    return "\n".join(lines)


def cmd_create_admin(args: argparse.Namespace) -> int:
    settings = ServiceSettings.from_env("identity", default_metrics_port=0)
    pool = ConnectionPool(settings.database_url, max_size=1)
    app = IdentityApplication(pool, IdentityConfig.from_env(require_secret=False), NoSender())
    payload = {
        "name": args.name,
        "phone": args.phone,
        "username": args.username,
        "language": args.language,
        "password": read_password(sys.stdin),
    }
    try:
        user = app.staff.create_admin(payload, CallContext(origin="cli"))
    except PasokhError as error:
        print(_errors(error), file=sys.stderr)
        return 1
    finally:
        pool.close()
    print(f"admin created: {user['id']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.identity.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    admin = sub.add_parser("create-admin", help="create an admin account (password on stdin)")
    admin.add_argument("--phone", required=True, help="mobile number, any common form")
    admin.add_argument("--name", required=True)
    admin.add_argument("--username", default=None, help="optional login name")
    admin.add_argument("--language", default="fa", choices=("fa", "en"))
    admin.set_defaults(func=cmd_create_admin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
