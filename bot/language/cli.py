"""`python -m bot language build|parse`: build the spaCy pipeline from data/lexicon, or show what a sentence yields."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("language", help="the clinic's spaCy language pipeline")
    sub = group.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the pipeline from data/lexicon (nothing to do when its stamp matches)")
    build.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    build.add_argument("--out", type=Path, help="where to save it (default: SPACY_MODEL_DIR or models/spacy-clinic)")
    build.set_defaults(func=_build)
    parse = sub.add_parser("parse", help="print the facts read from a sentence, as JSON")
    parse.add_argument("text")
    parse.set_defaults(func=_parse)


def _build(args: argparse.Namespace) -> int:
    from bot.language.pipeline import build

    result = build(out_dir=args.out, force=args.force)
    if result.built:
        print(
            f"built {result.path} from the lexicon (stamp {result.digest}, {result.patterns} patterns, "
            f"{result.seconds:.1f} s)"
        )
    else:
        print(f"{result.path} is up to date (stamp {result.digest}); nothing to do (--force rebuilds)")
    return 0


def _parse(args: argparse.Namespace) -> int:
    import bot.language as language

    facts = [f.as_dict() for f in language.find_facts(args.text)]
    print(
        json.dumps(
            {
                "facts": facts,
                "volunteered": language.volunteered(args.text),
                "yes_no": language.yes_no(args.text),
                "months_ago": language.months_ago(args.text),
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0
