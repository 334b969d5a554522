"""Who, whether and when: each medicine or condition in a message, read in its context.

Negation, someone else's and uncertainty come from medspaCy's ConText algorithm run with the project's own cues
(data/lexicon/context.yml); time (now / past, months ago) from bot.language.timeexpr on the mention's clause. A few
client phrasings that ConText cannot express are settled here, each with its reason. The rules ConText runs are in
bot.language.context_rules, the misspelling fallback in bot.language.misspellings, the loaded pipeline in
bot.language.context_pipeline.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from spacy.tokens import Doc, Span

from bot.language import lexicon as lex
from bot.language import timeexpr
from bot.language.context_pipeline import Pipeline, pipeline
from bot.language.misspellings import FUZZY_KEY

MEDICATION, CONDITION, CONCERN = lex.MEDICATION, lex.CONDITION, lex.CONCERN


@dataclass(frozen=True)
class Fact:
    """One mention of a medicine, a condition or a concern, read in context."""

    kind: str  # medication | condition | concern
    text: str  # as written
    canonical: str  # as shown to staff: "Eliquis (apixaban)"
    code: Optional[str]  # reason code it bears on at this time (None: none)
    drug_class: Optional[str]
    generic: Optional[str]
    negated: bool
    other_person: bool
    uncertain: bool
    hypothetical: bool
    current: Optional[bool]  # None for concerns
    months_ago: Optional[float]
    start: int
    end: int
    sentence: str
    entry_key: str
    fuzzy: bool = False  # matched by the misspelling fallback, not by the lexicon's exact forms

    @property
    def own_affirmed(self) -> bool:
        return not self.negated and not self.other_person

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


# ---- clauses and time -----------------------------------------------------------------------------------------

# A clause ends at a contrast or at a comma that starts a new statement; a comma inside a list does not
# ("I stopped warfarin, aspirin and clopidogrel last year" keeps its time for all three).
_CLAUSE_BREAK = re.compile(
    r"\s*(?:\b(?:but|however|although|though|whereas|whilst|while|and then|and now|except|apart from|other than)\b"
    r"|[;:]|,(?=\s*(?:i|i'm|im|i've|ive|it|it's|that|that's|which|now|then|and i|so|they|he|she|my|nothing|none|no|not|"
    r"never|also|plus)\b)"
    r"|\s-\s)",
    re.IGNORECASE,
)


def clauses(sentence: Span) -> List[Tuple[int, int]]:
    """Character spans (in the doc) of the clauses of one sentence."""
    text = sentence.text
    base = sentence.start_char
    spans, last = [], 0
    for m in _CLAUSE_BREAK.finditer(text):
        if m.start() > last:
            spans.append((base + last, base + m.start()))
        last = m.end()
    spans.append((base + last, base + len(text)))
    return [s for s in spans if s[1] > s[0]]


_STRONG_NOW = re.compile(
    r"\b(?:right now|at the moment|atm|at the minute|currently|today|this week|now|still|lately|flaring|flare|flared|"
    r"flare-up|playing up|acting up|active|coming up|starting)\b|\b(?:have|got|'ve got|there's|there is|with) (?:a|one|"
    r"an)\b(?! history)"
)
_HISTORY = re.compile(
    r"\bhistory of\b|\bprone to\b|\bsuffer(?:ed)? (?:from|with)\b|\bget them\b|\bon and off\b|\bfrom "
    r"time to time\b"
)
_NOT_FOR_AGES = re.compile(
    r"\b(?:in|for) (?:years|ages|a long time|a while|a few years|a couple of years|months|\d+ "
    r"years?)\b"
    r"|\bsince\b|\brecently\b|\bin a long time\b|\banymore\b|\bany more\b"
)
_FLARE = re.compile(r"\b(?:flar\w*|playing up|acting up|bad at the moment|angry|inflamed|worse|bad right now)\b")


@dataclass(frozen=True)
class _When:
    current: bool
    months_ago: Optional[float]
    vague_past: bool
    strong_now: bool
    flare: bool


def _when(doc: Doc, ent: Span, entry: lex.Entry, today: Optional[date]) -> _When:
    sent = ent.sent
    spans = clauses(sent)
    idx = next((i for i, (s, e) in enumerate(spans) if s <= ent.start_char < e), 0)
    clause_text = doc.text[spans[idx][0] : spans[idx][1]] if spans else sent.text
    reading = timeexpr.read_time(clause_text, today)
    # "I took roaccutane, that was 5 years ago": a clause with a time and no mention of its own belongs to the one
    # before
    if reading.months_ago is None:
        ent_starts = [e.start_char for e in doc.ents if e.label_ != CONCERN]
        for s, e in spans[idx + 1 :]:
            if any(s <= p < e for p in ent_starts):
                break
            follow = timeexpr.read_time(doc.text[s:e], today)
            if follow.months_ago is not None or follow.status == timeexpr.PAST:
                reading = follow if follow.months_ago is not None or reading.status is None else reading
                break
    low = clause_text.lower()
    strong = bool(_STRONG_NOW.search(low)) and not _HISTORY.search(low)
    status = reading.status
    if status == timeexpr.CURRENT and entry.assume == "past" and not strong:
        status = timeexpr.PAST  # "I get cold sores when I'm run down" is a history, not a sore now
    if status is None:
        status = timeexpr.CURRENT if entry.assume == "now" else timeexpr.PAST
    current = status == timeexpr.CURRENT
    if entry.flare_words:
        flare = bool(re.search(r"\b(?:" + "|".join(re.escape(w) for w in entry.flare_words) + r")\b", low))
    else:
        flare = bool(_FLARE.search(low))
    return _When(current, None if current else reading.months_ago, reading.vague_past, strong, flare)


def resolve_code(entry: lex.Entry, when: _When, window: Optional[float] = None) -> Optional[str]:
    """The reason code a mention bears on at its time: the current code, or the past one within its window."""
    if entry.label == CONCERN:
        return None
    if when.flare and entry.code_flare and entry.flare_words:
        return entry.code_flare  # "a mole that has changed" stays a concern whatever the tense
    if when.current:
        if when.flare and entry.code_flare:
            return entry.code_flare
        return entry.code_now
    limit = window if window is not None else entry.window_months
    if entry.code_past is None:
        return None
    if limit is None:
        return entry.code_past
    if when.months_ago is not None and when.months_ago <= limit:
        return entry.code_past
    return None  # past with no date ("in my teens") or outside the window: not recent


# "I've been told to take aspirin but I don't": a denial at the end of the sentence that reaches back (but not over
# someone else's mention: in "my kids get cold sores but I never have" the kids still do)
_TRAILING_DENIAL = re.compile(
    r"\b(?:but|though|although)\s+i\s+(?:do ?n't|dont|do not|have ?n't|havent|have not|did "
    r"?n't|"
    r"didnt|did not|never (?:did|have)|wo ?n't|will not|am not|'m not)\s*(?:anymore|any more|"
    r"now)?"
    r"\s*[.!?]*\s*$"
)


def _is_negated(doc: Doc, ent: Span) -> bool:
    after = doc.text[ent.end_char : ent.sent.end_char].lower().replace("\u2019", "'")
    mentions_after = any(e.start_char >= ent.end_char for e in ent.sent.ents if e.label_ != CONCERN)
    if _TRAILING_DENIAL.search(after) and not ent._.is_family and not mentions_after:
        return True
    # a cue inside the mention is part of its name: "my blood doesn't clot" is not a denial
    cues = [
        m
        for m in ent._.modifiers
        if m.category == "NEGATED_EXISTENCE" and not ent.start <= m.modifier_span[0] < ent.end
    ]
    if not cues:
        return False
    clause = ent.sent.text.lower()
    # "I haven't had a cold sore in years" says they had them: a history, not a denial
    before = clause[: max(0, ent.start_char - ent.sent.start_char)]
    around = doc.text[ent.end_char : ent.sent.end_char].lower() + " " + before
    return not (
        _NOT_FOR_AGES.search(around)
        and re.search(r"\b(?:haven't|havent|have not|not had|hasn't|not since|not for|not in)\b", clause)
    )


# after "and I": a denial, so not the client's own too
_OWN_DENIED = re.compile(
    r"\s*(?:do ?n'?t|dont|do not|have ?n'?t|havent|have not|did ?n'?t|didnt|did not|never|am not|"
    r"'m not|"
    r"m not|was not|was ?n'?t|wasnt|tested negative|am clear|'m clear|am fine|'m fine|am ok|'m "
    r"ok)\b"
)


def _is_other(doc: Doc, ent: Span, own_too: re.Pattern[str]) -> bool:
    if not ent._.is_family:
        return False
    # "my sister and I both get cold sores", "my mum gets cold sores and so do I": the client's own too. But in "my
    # husband takes warfarin and I take aspirin" the "and I" opens a clause about another mention, not this one.
    sent = ent.sent
    starts = [e.start_char for e in doc.ents if sent.start_char <= e.start_char < sent.end_char and e.label_ != CONCERN]
    low = sent.text.lower()
    for m in own_too.finditer(low):
        if _OWN_DENIED.match(low[m.end() :]):
            continue  # "my mum has von Willebrand's and I don't": the client says it is not theirs
        at = sent.start_char + m.start()
        if at < ent.start_char:
            if not any(at <= p < ent.start_char for p in starts):
                return False
        elif not any(p > at for p in starts):
            return False
    return True


def analyse(text: str, today: Optional[date] = None) -> List[Fact]:
    """Every medicine, condition and concern in the text, in order, read in context."""
    if not text or not text.strip():
        return []
    r = pipeline()
    return list(_analyse_cached(r, text, today))


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


def plain(text: str) -> str:
    """Curly quotes straightened, one character for one, so offsets into the client's text still hold."""
    return text.translate(_QUOTES)


_STOPPED_NOW = re.compile(r"\b(?:finished|stopped|came off|come off|quit|ended|completed|done with)\b")


@lru_cache(maxsize=512)
def _analyse_cached(r: Pipeline, original: str, today: Optional[date]) -> Tuple[Fact, ...]:
    text = plain(original)
    doc = r.doc(text)
    fuzzy = doc.user_data.get(FUZZY_KEY, set())
    facts: List[Fact] = []
    for ent in doc.ents:
        entry = r.lexicon.lookup(ent.label_, ent.text) or next(
            (e for e in r.lexicon.entries if e.key == ent.ent_id_), None
        )
        if entry is None:
            continue
        if facts and facts[-1].entry_key == entry.key and not doc.text[facts[-1].end : ent.start_char].strip():
            continue  # "salbutamol inhaler": two forms of one entry side by side are one mention
        when = _when(doc, ent, entry, today)
        negated = _is_negated(doc, ent)
        if negated and when.months_ago is not None and _STOPPED_NOW.search(ent.sent.text.lower()):
            # "not on roaccutane now, finished last week": the denial is about today; the recent past still counts
            negated = False
        facts.append(
            Fact(
                kind={MEDICATION: "medication", CONDITION: "condition", CONCERN: "concern"}[ent.label_],
                text=original[ent.start_char : ent.end_char],
                canonical=entry.display,
                code=resolve_code(entry, when),
                drug_class=entry.drug_class,
                generic=entry.generic,
                negated=negated,
                other_person=_is_other(doc, ent, r.own_too),
                uncertain=bool(ent._.is_uncertain),
                hypothetical=bool(ent._.is_hypothetical),
                current=None if entry.label == CONCERN else when.current,
                months_ago=None if entry.label == CONCERN else when.months_ago,
                start=ent.start_char,
                end=ent.end_char,
                sentence=original[ent.sent.start_char : ent.sent.end_char].strip(),
                entry_key=entry.key,
                fuzzy=(ent.start_char, ent.end_char) in fuzzy,
            )
        )
    return tuple(facts)


def entry_for(fact: Fact) -> lex.Entry:
    r = pipeline()
    return next(e for e in r.lexicon.entries if e.key == fact.entry_key)
