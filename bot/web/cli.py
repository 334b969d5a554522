"""`python -m bot web serve` (the web app with uvicorn on WEB_PORT) and `python -m bot staff add|password|list`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any, Dict, Tuple


def uvicorn_options(trusted_proxies: Tuple[str, ...]) -> Dict[str, Any]:
    """How uvicorn serves the web app: X-Forwarded-For/-Proto believed only from TRUSTED_PROXIES (uvicorn's own
    default trusts 127.0.0.1, so anyone reaching a loopback port could name any address, dodging the login limit
    and forging the audit log); no access log (it would hold search text, names and emails, from query strings)."""
    return {
        "ws": "none",
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": list(trusted_proxies),
    }


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot import settings
    from bot.redact import install_log_escaping

    install_log_escaping()
    current = settings.get()
    port = args.port or current.web_port
    uvicorn.run(
        "bot.web.app:create_app", factory=True, host=args.host, port=port, **uvicorn_options(current.trusted_proxies)
    )
    return 0


def _password(args: argparse.Namespace) -> str:
    """STAFF_PASSWORD (for scripts), else asked twice without echo."""
    given = os.environ.get("STAFF_PASSWORD")
    if given:
        return given
    if not sys.stdin.isatty():
        raise SystemExit("error: no terminal to ask for the password: set STAFF_PASSWORD")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise SystemExit("error: the two passwords differ")
    return first


def _add(args: argparse.Namespace) -> int:
    from bot.store import audit, staff

    try:
        added = staff.add(args.email, _password(args), args.role)
    except staff.StaffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    audit.record("command line", "staff_added", "staff", str(added.id), detail=f"role={added.role}")
    print(f"added {added.email} ({added.role}); they log in at /staff/login")
    return 0


def _set_password(args: argparse.Namespace) -> int:
    from bot.store import audit, staff

    person = staff.by_email(args.email)
    if person is None:
        print(f"error: no account for {args.email.strip().lower()}", file=sys.stderr)
        return 1
    try:
        staff.update(person.id, password=_password(args))
    except staff.StaffError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    audit.record("command line", "staff_changed", "staff", str(person.id), detail="password reset")
    print(f"new password set for {person.email}; their open sessions were ended")
    return 0


def _list(args: argparse.Namespace) -> int:
    from bot.store import staff

    for person in staff.all_staff():
        print(f"{person.id:4}  {person.role:12}  {'active' if person.active else 'inactive':8}  {person.email}")
    return 0


def register(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="the clinic page and staff dashboard")
    commands = web.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app (WEB_PORT, default 8000)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)

    from bot.store.staff import ROLES

    staff = subparsers.add_parser("staff", help="staff accounts for the dashboard")
    staff_commands = staff.add_subparsers(dest="command", required=True)
    add = staff_commands.add_parser("add", help="add an account (password asked, or from STAFF_PASSWORD)")
    add.add_argument("email", metavar="EMAIL")
    add.add_argument("--role", required=True, choices=ROLES)
    add.set_defaults(func=_add)
    password = staff_commands.add_parser("password", help="set a new password (asked, or from STAFF_PASSWORD)")
    password.add_argument("email", metavar="EMAIL")
    password.set_defaults(func=_set_password)
    listing = staff_commands.add_parser("list", help="list the accounts")
    listing.set_defaults(func=_list)
