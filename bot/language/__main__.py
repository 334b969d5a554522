"""`python -m bot.language build|parse`: the same commands as `python -m bot language ...`, without the other groups."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from bot.language import cli


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.language")
    sub = parser.add_subparsers(dest="group", required=True)
    cli.register(sub)
    args = parser.parse_args(["language", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
