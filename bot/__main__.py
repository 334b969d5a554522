"""The one command line: `python -m bot <group> <command> ...`.

Each group lives beside what it drives and exposes `register(subparsers)`; each command sets `func(args) -> int`.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

# group modules, each with register(subparsers); a missing optional group is skipped only if its module is absent
GROUPS = (
    "bot.store.cli",      # consultation show/expire, db upgrade, data purge/export/erase
    "bot.language.cli",   # language build/parse
    "bot.web.cli",        # staff add, web serve
    "bot.handoff",        # handoff rules
    "bot.dialogue.cli",   # questions domain/check
    "bot.serve",          # serve: start everything
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


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.parse_args([args.group, "--help"])
        return 2
    return int(func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
