"""The misspelling fallback: single-word medicine and condition names indexed for an edit-distance look-up
(symmetric deletes), so "apixiban" is still apixaban; the entities it adds are marked as fuzzy."""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from bot.language import lexicon as lex


def _deletes(word: str, depth: int) -> set:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def allowed_distance(word: str) -> int:
    # short words are too close to everyday words: "aspiring" is one letter from "aspirin"
    return 0 if len(word) < 6 else 1 if len(word) < 9 else 2


class Misspellings:
    """Single-word medicine and condition names, indexed for an edit-distance look-up (symmetric deletes)."""

    def __init__(self, lexicon: lex.Lexicon, everyday: frozenset) -> None:
        self.index: Dict[str, set] = {}
        self.entry_of: Dict[str, lex.Entry] = {}
        for entry in lexicon.entries:
            if entry.label == lex.CONCERN:
                continue
            for form in entry.forms:
                if " " in form or not form.isalpha() or len(form) < 6 or form in everyday:
                    continue
                self.entry_of[form] = entry
                for d in _deletes(form, 1 if len(form) < 9 else 2):
                    self.index.setdefault(d, set()).add(form)
        self.everyday = everyday

    def match(self, word: str) -> Optional[Tuple[lex.Entry, str]]:
        word = word.lower()
        limit = allowed_distance(word)
        if limit == 0 or word in self.everyday or word in self.entry_of or re.search(r"(?:ing|ed|ly|tion|ness)$", word):
            return None
        candidates = set()
        for d in _deletes(word, limit):
            candidates |= self.index.get(d, set())
        best = None
        for form in sorted(candidates):
            dist = distance(word, form)
            if dist <= min(limit, allowed_distance(form)) and (best is None or dist < best[0]):
                best = (dist, form)
        return (self.entry_of[best[1]], best[1]) if best else None


FUZZY_KEY = "fuzzy"


def add_misspelt_entities(doc: Doc, misspellings: Misspellings) -> Doc:
    """Add entities for misspelt names the lexicon does not list ("apixiban"), before ConText reads the doc."""
    taken = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    extra = []
    for token in doc:
        if token.i in taken or not token.is_alpha:
            continue
        found = misspellings.match(token.text)
        if found is not None:
            entry, _ = found
            span = Span(doc, token.i, token.i + 1, label=entry.label, span_id=entry.key)
            extra.append(span)
    if extra:
        doc.ents = filter_spans(list(doc.ents) + extra)  # type: ignore[assignment]  # spaCy's stub: Tuple[Span]
        doc.user_data[FUZZY_KEY] = {(s.start_char, s.end_char) for s in extra}
    return doc
