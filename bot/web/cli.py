"""`python -m bot web serve`: run the web app with uvicorn on WEB_PORT."""
from __future__ import annotations

import argparse
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot import settings

    port = args.port or settings.get().web_port
    uvicorn.run("bot.web.app:create_app", factory=True, host=args.host, port=port, ws="none", log_level="warning")
    return 0


def register(subparsers: Any) -> None:
    web = subparsers.add_parser("web", help="the clinic page and staff dashboard")
    commands = web.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app (WEB_PORT, default 8000)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=_serve)
