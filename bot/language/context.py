"""Who, whether and when: each medicine or condition in a message, read in its context.

Negation, someone else's and uncertainty come from medspaCy's ConText algorithm run with the project's own cues
(data/lexicon/context.yml); time (now / past, months ago) from bot.language.timeexpr on the mention's clause. A few
client phrasings that ConText cannot express are settled here, each with its reason.
"""
from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import Dict, Iterable, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from bot.language import lexicon as lex
from bot.language import pipeline as spacy_pipeline
from bot.language import timeexpr

MEDICATION, CONDITION, CONCERN = lex.MEDICATION, lex.CONDITION, lex.CONCERN

_CATEGORY = {"negated": "NEGATED_EXISTENCE", "other_person": "FAMILY", "uncertain": "POSSIBLE_EXISTENCE",
             "hypothetical": "HYPOTHETICAL", "own": "OWN", "any": "ANY"}
_DIRECTION = {"forward": "FORWARD", "backward": "BACKWARD", "both": "BIDIRECTIONAL", "terminate": "TERMINATE",
              "pseudo": "PSEUDO"}


@dataclass(frozen=True)
class Fact:
    """One mention of a medicine, a condition or a concern, read in context."""

    kind: str                      # medication | condition | concern
    text: str                      # as written
    canonical: str                 # as shown to staff: "Eliquis (apixaban)"
    code: Optional[str]            # reason code it bears on at this time (None: none)
    drug_class: Optional[str]
    generic: Optional[str]
    negated: bool
    other_person: bool
    uncertain: bool
    hypothetical: bool
    current: Optional[bool]        # None for concerns
    months_ago: Optional[float]
    start: int
    end: int
    sentence: str
    entry_key: str
    fuzzy: bool = False            # matched by the misspelling fallback, not by the lexicon's exact forms

    @property
    def own_affirmed(self) -> bool:
        return not self.negated and not self.other_person

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


# ---- the ConText step -------------------------------------------------------------------------------------------

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
        rules.append(ConTextRule(cue.phrase, category, pattern=pattern, direction=direction,
                                 max_scope=cue.max_scope, terminated_by=terminated_by))
    return rules


# ---- the misspelling fallback -----------------------------------------------------------------------------------

def _deletes(word: str, depth: int) -> set:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
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
            if entry.label == CONCERN:
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


_FUZZY_KEY = "fuzzy"


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
        doc.ents = filter_spans(list(doc.ents) + extra)
        doc.user_data[_FUZZY_KEY] = {(s.start_char, s.end_char) for s in extra}
    return doc


# ---- loading --------------------------------------------------------------------------------------------------

class Pipeline:
    """The loaded pipeline with context, and the lexicon it came from."""

    def __init__(self, nlp: Language, lexicon: lex.Lexicon) -> None:
        import medspacy.context  # noqa: F401  registers the medspacy_context factory

        self.lexicon = lexicon
        self.nlp = nlp
        if "medspacy_context" not in nlp.pipe_names:
            ctx = nlp.add_pipe("medspacy_context", config={"rules": None})
            ctx.add(context_rules(lexicon.cues))
        from spacy.lang.en.stop_words import STOP_WORDS

        self.everyday = frozenset(STOP_WORDS) | lexicon.common_words
        self.misspellings = Misspellings(lexicon, self.everyday)
        self.own_too = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in lexicon.own_too) + r")\b")

    def doc(self, text: str) -> Doc:
        doc = self.nlp.make_doc(text)
        for name, proc in self.nlp.pipeline:
            if name == "medspacy_context":
                doc = add_misspelt_entities(doc, self.misspellings)
            doc = proc(doc)
        return doc


_lock = threading.Lock()
_pipelines: Dict[str, Pipeline] = {}


def pipeline() -> Pipeline:
    """The one Pipeline for the current lexicon (built or loaded once per process and lexicon content)."""
    lexicon_dir, model_dir = spacy_pipeline.settings_paths()
    digest = lex.current_digest(lexicon_dir)
    with _lock:
        found = _pipelines.get(digest)
        if found is None:
            nlp = spacy_pipeline.base_nlp(lexicon_dir, model_dir)
            found = Pipeline(nlp, lex.load_cached(lexicon_dir, digest))
            _pipelines.clear()
            _pipelines[digest] = found
        return found


# ---- clauses and time -----------------------------------------------------------------------------------------

# A clause ends at a contrast or at a comma that starts a new statement; a comma inside a list does not
# ("I stopped warfarin, aspirin and clopidogrel last year" keeps its time for all three).
_CLAUSE_BREAK = re.compile(
    r"\s*(?:\b(?:but|however|although|though|whereas|whilst|while|and then|and now|except|apart from|other than)\b"
    r"|[;:]|,(?=\s*(?:i|i'm|im|i've|ive|it|it's|that|that's|which|now|then|and i|so|they|he|she|my|nothing|none|no|not|never|also|plus)\b)"
    r"|\s-\s)", re.IGNORECASE)


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
    r"flare-up|playing up|acting up|active|coming up|starting)\b|\b(?:have|got|'ve got|there's|there is|with) (?:a|one|an)\b(?! history)")
_HISTORY = re.compile(r"\bhistory of\b|\bprone to\b|\bsuffer(?:ed)? (?:from|with)\b|\bget them\b|\bon and off\b|\bfrom time to time\b")
_NOT_FOR_AGES = re.compile(r"\b(?:in|for) (?:years|ages|a long time|a while|a few years|a couple of years|months|\d+ years?)\b"
                           r"|\bsince\b|\brecently\b|\bin a long time\b|\banymore\b|\bany more\b")
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
    clause_text = doc.text[spans[idx][0]:spans[idx][1]] if spans else sent.text
    reading = timeexpr.read_time(clause_text, today)
    # "I took roaccutane, that was 5 years ago": a clause with a time and no mention of its own belongs to the one before
    if reading.months_ago is None:
        ent_starts = [e.start_char for e in doc.ents if e.label_ != CONCERN]
        for s, e in spans[idx + 1:]:
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
        return entry.code_flare   # "a mole that has changed" stays a concern whatever the tense
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
_TRAILING_DENIAL = re.compile(r"\b(?:but|though|although)\s+i\s+(?:do ?n't|dont|do not|have ?n't|havent|have not|did ?n't|"
                              r"didnt|did not|never (?:did|have)|wo ?n't|will not|am not|'m not)\s*(?:anymore|any more|now)?"
                              r"\s*[.!?]*\s*$")


def _is_negated(doc: Doc, ent: Span) -> bool:
    after = doc.text[ent.end_char:ent.sent.end_char].lower().replace("\u2019", "'")
    if _TRAILING_DENIAL.search(after) and not ent._.is_family and not any(e.start_char >= ent.end_char for e in ent.sent.ents
                                                  if e.label_ != CONCERN):
        return True
    # a cue inside the mention is part of its name: "my blood doesn't clot" is not a denial
    cues = [m for m in ent._.modifiers if m.category == "NEGATED_EXISTENCE"
            and not ent.start <= m.modifier_span[0] < ent.end]
    if not cues:
        return False
    clause = ent.sent.text.lower()
    # "I haven't had a cold sore in years" says they had them: a history, not a denial
    if _NOT_FOR_AGES.search(doc.text[ent.end_char:ent.sent.end_char].lower() + " " + clause[: max(0, ent.start_char - ent.sent.start_char)]):
        if re.search(r"\b(?:haven't|havent|have not|not had|hasn't|not since|not for|not in)\b", clause):
            return False
    return True


# after "and I": a denial, so not the client's own too
_OWN_DENIED = re.compile(r"\s*(?:do ?n'?t|dont|do not|have ?n'?t|havent|have not|did ?n'?t|didnt|did not|never|am not|'m not|"
                         r"m not|was not|was ?n'?t|wasnt|tested negative|am clear|'m clear|am fine|'m fine|am ok|'m ok)\b")


def _is_other(doc: Doc, ent: Span, own_too: "re.Pattern[str]") -> bool:
    if not ent._.is_family:
        return False
    # "my sister and I both get cold sores", "my mum gets cold sores and so do I": the client's own too. But in "my
    # husband takes warfarin and I take aspirin" the "and I" opens a clause about another mention, not this one.
    sent = ent.sent
    starts = [e.start_char for e in doc.ents if sent.start_char <= e.start_char < sent.end_char and e.label_ != CONCERN]
    low = sent.text.lower()
    for m in own_too.finditer(low):
        if _OWN_DENIED.match(low[m.end():]):
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
    fuzzy = doc.user_data.get(_FUZZY_KEY, set())
    facts: List[Fact] = []
    for ent in doc.ents:
        entry = r.lexicon.lookup(ent.label_, ent.text) or next(
            (e for e in r.lexicon.entries if e.key == ent.ent_id_), None)
        if entry is None:
            continue
        if facts and facts[-1].entry_key == entry.key and not doc.text[facts[-1].end:ent.start_char].strip():
            continue  # "salbutamol inhaler": two forms of one entry side by side are one mention
        when = _when(doc, ent, entry, today)
        negated = _is_negated(doc, ent)
        if negated and when.months_ago is not None and _STOPPED_NOW.search(ent.sent.text.lower()):
            # "not on roaccutane now, finished last week": the denial is about today; the recent past still counts
            negated = False
        facts.append(Fact(
            kind={MEDICATION: "medication", CONDITION: "condition", CONCERN: "concern"}[ent.label_],
            text=original[ent.start_char:ent.end_char], canonical=entry.display, code=resolve_code(entry, when),
            drug_class=entry.drug_class, generic=entry.generic,
            negated=negated, other_person=_is_other(doc, ent, r.own_too),
            uncertain=bool(ent._.is_uncertain), hypothetical=bool(ent._.is_hypothetical),
            current=None if entry.label == CONCERN else when.current,
            months_ago=None if entry.label == CONCERN else when.months_ago,
            start=ent.start_char, end=ent.end_char, sentence=original[ent.sent.start_char:ent.sent.end_char].strip(),
            entry_key=entry.key,
            fuzzy=(ent.start_char, ent.end_char) in fuzzy,
        ))
    return tuple(facts)


def entry_for(fact: Fact) -> lex.Entry:
    r = pipeline()
    return next(e for e in r.lexicon.entries if e.key == fact.entry_key)
