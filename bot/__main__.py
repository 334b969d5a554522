"""The one command line: `python -m bot <group> <command> ...`.

Each group lives beside what it drives and exposes `register(subparsers)`; each command sets `func(args) -> int`.
"""

from __future__ import annotations

import os

# Before anything else: every file and folder this process (and every process it starts: `serve` runs Rasa, the
# action server and the web app as its children) creates is the owner's alone: the database, its WAL, var/.
PRIVATE_UMASK = 0o077
os.umask(PRIVATE_UMASK)

import argparse  # noqa: E402 (after the umask, on purpose)
import importlib  # noqa: E402
import sys  # noqa: E402
from typing import List, Optional  # noqa: E402

# group modules, each with register(subparsers); a missing optional group is skipped only if its module is absent
GROUPS = (
    "bot.store.cli",  # consultation show/expire, db upgrade, data purge/export/erase
    "bot.language.cli",  # language build/parse
    "bot.web.cli",  # staff add, web serve
    "bot.rasa_pause",  # handoff rules
    "bot.dialogue.cli",  # questions domain/check
    "bot.serve",  # serve: start everything
    "bot.cluster",  # cluster: N replicas behind HAProxy on PostgreSQL; worker: sweeper and notifier only
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="group", required=True)
    for name in GROUPS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name or name.startswith(f"{exc.name}."):
                continue
            raise
        module.register(sub)
    return parser


def _private_var() -> None:
    """var/ (settings.VAR_DIR) made before the umask, or by another tool, is taken down to 0700 when it is ours."""
    from bot.settings import VAR_DIR

    try:
        info = VAR_DIR.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(VAR_DIR, 0o700)
    except OSError:  # absent (made 0700 when first needed) or not ours to change
        pass


def main(argv: Optional[List[str]] = None) -> int:
    from bot.redact import install_log_escaping

    os.umask(PRIVATE_UMASK)  # also when main() is called from elsewhere (tests, a wrapper script)
    install_log_escaping()  # a client's text (a sender id with a newline) cannot forge a log line
    _private_var()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.parse_args([args.group, "--help"])
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
