"""The ConText step's rules, made from the lexicon's cues (data/lexicon/context.yml): which phrases negate a mention,
make it someone else's, uncertain or hypothetical, and in which direction they reach."""

from __future__ import annotations

from typing import Iterable

from bot.language import lexicon as lex

_CATEGORY = {
    "negated": "NEGATED_EXISTENCE",
    "other_person": "FAMILY",
    "uncertain": "POSSIBLE_EXISTENCE",
    "hypothetical": "HYPOTHETICAL",
    "own": "OWN",
    "any": "ANY",
}
_DIRECTION = {
    "forward": "FORWARD",
    "backward": "BACKWARD",
    "both": "BIDIRECTIONAL",
    "terminate": "TERMINATE",
    "pseudo": "PSEUDO",
}


def context_rules(cues: Iterable[lex.Cue]) -> list:
    from medspacy.context import ConTextRule

    rules = []
    for cue in cues:
        category = _CATEGORY[cue.category]
        direction = _DIRECTION[cue.direction]
        words = cue.phrase.split(" ")
        # one-token cues ("n't", "-", ";") as token patterns: the phrase matcher would re-tokenise them
        pattern = [{"LOWER": words[0]}] if len(words) == 1 else None
        terminated_by = {"OWN"} if category == "FAMILY" else None
        rules.append(
            ConTextRule(
                cue.phrase,
                category,
                pattern=pattern,
                direction=direction,
                max_scope=cue.max_scope,
                terminated_by=terminated_by,
            )
        )
    return rules
