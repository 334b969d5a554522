"""Detectors for the digressions a client makes while a question is open: red flags, a request for a person, stop,
start again, "why do you ask?", a correction, a question.

The dialogue is "question first": the open question's reader gets the message, and a digression wins only when it
is unmistakable. So each detector here is precise rather than eager: an ordinary answer ("yes, I have a cold sore
right now", "it's inflamed and still healing", "stopped it in March", "Rich Person") is never a digression.

Pure functions of text. No Rasa, no spaCy: the cues are data the clinic can edit,

    data/lexicon/red_flags.yml     the red-flag statements (the clinical lead's list)
    data/lexicon/digressions.yml   person / stop / restart / why / correction / question cues, and the common cues
                                   (negation, clause breaks) the red flags use too

read once per process (LEXICON_DIR, as the rest of the lexicon) and compiled into regular expressions.

How a message is read: it is normalised (markup stripped, lower case, curly quotes straightened, contractions
spelled out: "can't" / "cant" / "cannot" -> "can not", "I'm" / "im" -> "i am", "u" -> "you", letters repeated three
times or more kept once: "stoppp" -> "stop") and cut into tokens; a cue phrase goes through the same normalisation,
so the clinic writes cues as clients write them. The message is cut into sentences (. ! ?) and clauses (also ; :,
contrast words such as "but", and a comma followed by a new subject: "no, my lips are swelling"). A cue is
"negated" when a negation cue comes before it in its clause ("no trouble breathing", "I'm not struggling to
breathe", "please don't call me"); "no" directly followed by a subject is an answer, not a negation ("no my face is
swelling up"); a negation that is part of a matched phrase ("can't breathe") or a pseudo-negation ("not sure", "no
idea") negates nothing.

Each detector:
  red_flags         a flag's `any` phrase, or its `all` groups together (in a clause, sentence or the message), each
                    not negated, not after a hypothetical cue ("what if", "will my"), not in a question about the
                    treatment that names no one, not what a medicine is for ("propranolol for my chest pains"), not
                    excused by the flag's `unless` ("a bit swollen", "swollen glands"), and not in a clause that says
                    past or habit ("years ago", "once", "when I see needles") unless it also says now.
  asks_for_person   the whole message is a request ("human please", "agent"); or a request phrase; or a verb of contact
                    and a person, in either order, after a request frame ("can I", "I'd like") or opening the clause
                    ("put me through to reception"), never after "do I need to", never "my doctor"; or "call me back",
                    "give me a ring" (but "you can call me Sam", and "ring me on 07700..." gives details).
  asks_to_stop      a clause that is only a stop word ("stop", "bye for now"); or a stop phrase ("finish later");
                    or a stop verb after a request frame (or opening its clause) followed only by words such as
                    "this", "now", "here", "the chat" ("I want to stop", but "I want to stop taking aspirin").
  asks_to_restart   a restart phrase opening its clause, or after a request frame, with no medicine or treatment word
                    in its clause ("can I start again on roaccutane?" is not one).
  asks_why          a clause that is only "why?" / "how come", or a why phrase.
  wants_correction  an opener at the start ("actually", "oops", "scratch that"), "wait"/"hang on" then a changed
                    answer, or a correction phrase ("I made a mistake", "I said no but I meant yes", "my email is
                    wrong").
  is_question       a "?", a question frame ("I was wondering"), or a clause opening like a question: a question word
                    not followed by a statement's subject ("how long does it last", not "how I feel"), or an
                    auxiliary followed by a subject ("is it painful", "do you do lips", not "do get them",
                    "Will Chase").
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.intake import strip_markup

RED_FLAGS_FILE = "red_flags.yml"
DIGRESSIONS_FILE = "digressions.yml"


class CueError(ValueError):
    """A cue file is missing or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class RedFlag:
    id: str  # e.g. "breathing"
    label: str  # short, for staff, e.g. "trouble breathing"


# ---- normalisation ---------------------------------------------------------------------------------------------

_SPELLED = {
    "can't": "can not",
    "cant": "can not",
    "cannot": "can not",
    "won't": "will not",
    "wont": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "aint": "is not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "arent": "are not",
    "wasnt": "was not",
    "werent": "were not",
    "havent": "have not",
    "hasnt": "has not",
    "hadnt": "had not",
    "couldnt": "could not",
    "wouldnt": "would not",
    "shouldnt": "should not",
    "mustnt": "must not",
    "neednt": "need not",
    "im": "i am",
    "ive": "i have",
    "id": "i would",
    "youre": "you are",
    "youve": "you have",
    "theyre": "they are",
    "its": "it is",
    "thats": "that is",
    "whats": "what is",
    "theres": "there is",
    "hows": "how is",
    "wheres": "where is",
    "whos": "who is",
    "lets": "let us",
    "shes": "she is",
    "hes": "he is",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "gimme": "give me",
    "lemme": "let me",
    "dunno": "do not know",
    "idk": "i do not know",
    "u": "you",
    "ur": "your",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "plss": "please",
    "pleas": "please",
    "thx": "thanks",
    "thnx": "thanks",
    "ty": "thanks",
    "cos": "because",
    "coz": "because",
    "cuz": "because",
    "bc": "because",
    "becuase": "because",
    "whys": "why is",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tomoz": "tomorrow",
    "rn": "right now",
    "ppl": "people",
    "convo": "conversation",
    "wat": "what",
    "wot": "what",
    "abt": "about",
    "dr": "doctor",
    "okay": "ok",
    "k": "ok",
    "kk": "ok",
    "okey": "ok",
    "thru": "through",
    "breath": "breathe",
    "breating": "breathing",
    "swolen": "swollen",
    "sholud": "should",
    "whould": "would",
    "shld": "should",
    "wld": "would",
    "cld": "could",
    "wen": "when",
    "cnt": "can not",
    "carnt": "can not",
    "cannae": "can not",
    "speek": "speak",
    "spk": "speak",
    "tlk": "talk",
    "humen": "human",
    "huamn": "human",
    "hooman": "human",
    "persn": "person",
    "brethe": "breathe",
    "breate": "breathe",
    "breth": "breathe",
    "sweling": "swelling",
    "sweeling": "swelling",
    "swolled": "swollen",
    "swollon": "swollen",
    "thoat": "throat",
    "throut": "throat",
    "tounge": "tongue",
    "toungue": "tongue",
    "tonge": "tongue",
    "fanted": "fainted",
    "feinted": "fainted",
    "bleding": "bleeding",
    "bleading": "bleeding",
    "chesst": "chest",
    "restat": "restart",
    "oopsie": "oops",
    "oopsies": "oops",
    "opps": "oops",
    "whoopsie": "whoops",
    "actualy": "actually",
    "acctually": "actually",
    "acutally": "actually",
    "realy": "really",
    "plase": "please",
    "pleae": "please",
    "pleasee": "please",
    "sumone": "someone",
    "some1": "someone",
    "any1": "anyone",
    "sum1": "someone",
    "nurce": "nurse",
    "practicioner": "practitioner",
    "practioner": "practitioner",
}
# "'s" is spelled out only after these ("mum's" stays a possessive)
_S_IS = frozenset(
    "it that what there here he she who how where when why name let email number phone address "
    "answer mobile surname date throat face lip lips tongue chest nose eye skin vision blood bleeding "
    "breathing heart arm leg cheek neck mouth head".split()
)
_S_IS_SPECIAL = {"let": "us"}
_EMOJI_WORDS = {"😂": " haha ", "🤣": " haha ", "😆": " haha "}
_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[.!?,;:]")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_PUNCT = frozenset(".!?,;:")


def _spell_out(token: str) -> List[str]:
    if token in _SPELLED:
        return _SPELLED[token].split()
    if "'" in token:
        base, _, tail = token.rpartition("'")
        if tail == "t" and base.endswith("n"):
            stem = base[:-1]
            stem = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}.get(stem, stem)
            return [stem, "not"] if stem else [token]
        if tail == "s" and base in _S_IS:
            return [base, _S_IS_SPECIAL.get(base, "is")]
        spelled = {"m": "am", "re": "are", "ve": "have", "ll": "will", "d": "would"}.get(tail)
        if spelled and base:
            return [base, spelled]
    return [token]


def tokens(text: str) -> List[str]:
    """The normalised tokens of a message (or of a cue phrase): words and . ! ? , ; : as tokens of their own."""
    t = strip_markup(unicodedata.normalize("NFKC", text or ""))
    for emoji, word in _EMOJI_WORDS.items():
        t = t.replace(emoji, word)
    t = t.lower()
    for quote in "\u2019\u2018\u02bc\u00b4`":
        t = t.replace(quote, "'")
    t = re.sub(r"\s[-\u2013\u2014]+\s|[\u2013\u2014]", " , ", t)  # a dash between words is a pause
    t = t.replace("&", " and ").replace("/", " ").replace("+", " ")
    t = _REPEATS.sub(r"\1", t)
    out: List[str] = []
    for tok in _TOKEN.findall(t):
        out.extend(_spell_out(tok.strip("'")) if tok not in _PUNCT else [tok])
    return [tok for tok in out if tok]


def normalise(text: str) -> str:
    """The message as the detectors read it: tokens joined by single spaces."""
    return " ".join(tokens(text))


# ---- cue phrases -------------------------------------------------------------------------------------------------

_WORDCHARS = r"[^ .!?,;:]"
_GAP = r"(?: " + _WORDCHARS + r"+){0,3}"


def _phrase_regex(raw: str, where: str) -> str:
    """One cue phrase as a regular expression over the normalised text.

    Words are matched whole, after the same normalisation as the message. Besides words a phrase may hold
    `a|b` (either word), `word*` (any word starting so), `*` (any one word), `#` (a number), `...` (up to 3 words).
    """
    if isinstance(raw, bool) or raw is None:
        raise CueError(f"{where}: a phrase was read as {raw}: quote yes/no/on/off/null")
    pieces = str(raw).split()
    if not pieces:
        raise CueError(f"{where}: an empty phrase")
    if pieces[0] == "..." or pieces[-1] == "...":
        raise CueError(f"{where}: {raw!r}: '...' must be between words")
    body = ""
    for piece in pieces:
        if piece == "...":
            body += _GAP
            continue
        if piece == "*":
            part = _WORDCHARS + "+"
        elif piece == "#":
            part = r"\d[\d.,:]*"
        else:
            alternatives = []
            for alt in piece.split("|"):
                prefix = alt.endswith("*") and len(alt) > 1
                toks = tokens(alt[:-1] if prefix else alt)
                if not toks:
                    raise CueError(f"{where}: {raw!r}: {alt!r} holds no word")
                alternatives.append(" ".join(re.escape(t) for t in toks) + (_WORDCHARS + "*" if prefix else ""))
            part = "(?:" + "|".join(alternatives) + ")"
        body += (" " if body and not body.endswith(_GAP) else (" " if body else "")) + part
    return body


def _compile(phrases: Optional[Iterable[Any]], where: str) -> Optional[re.Pattern[str]]:
    """Phrases as one alternation; None when there are none. Longer phrases are tried first."""
    parts = [_phrase_regex(p, where) for p in phrases or []]
    if not parts:
        return None
    parts.sort(key=len, reverse=True)
    return re.compile(r"(?<![^ ])(?:" + "|".join(parts) + r")(?![^ ])")


def _compile_some(phrases: Optional[Iterable[Any]], where: str) -> re.Pattern[str]:
    """`_compile` for a list that must hold a phrase."""
    pattern = _compile(phrases, where)
    if pattern is None:
        raise CueError(f"{where}: needs at least one phrase")
    return pattern


def _words(values: Optional[Iterable[Any]], where: str) -> frozenset:
    out = set()
    for value in values or []:
        if isinstance(value, bool) or value is None:
            raise CueError(f"{where}: a word was read as {value}: quote yes/no/on/off/null")
        out.add(" ".join(tokens(str(value))))
    return frozenset(out)


# ---- a message, read ----------------------------------------------------------------------------------------------


class _Message:
    """The normalised tokens of one message, with sentences, clauses and the cue spans computed once."""

    def __init__(self, text: str, common: _Common) -> None:
        self.tokens = tokens(text)
        self.text = " ".join(self.tokens)
        self.offsets: List[int] = []
        at = 0
        for tok in self.tokens:
            self.offsets.append(at)
            at += len(tok) + 1
        n = len(self.tokens)
        self.sentence = [0] * n
        self.clause = [0] * n
        breaks = set()
        if common.clause_breaks is not None:
            breaks = {self.index(m.start()) for m in common.clause_breaks.finditer(self.text)}
        sentence = clause = 0
        for i, tok in enumerate(self.tokens):
            if i in breaks or i > 0 and self.tokens[i - 1] == "," and tok in common.subjects:
                clause += 1
            self.sentence[i] = sentence
            self.clause[i] = clause
            if tok in ".!?":
                sentence += 1
                clause += 1
            elif tok in ";:":
                clause += 1
        self._clause_spans = self._spans(self.clause)
        self._sentence_spans = self._spans(self.sentence)
        self.common = common
        self._negations: Optional[List[int]] = None
        self._cache: Dict[int, List[Tuple[int, int]]] = {}

    def index(self, char: int) -> int:
        """The token at a character offset."""
        return max(0, bisect_right(self.offsets, char) - 1)

    def find(self, pattern: Optional[re.Pattern[str]]) -> List[Tuple[int, int]]:
        """Token spans [start, end) where the pattern matches."""
        if pattern is None:
            return []
        key = id(pattern)
        found = self._cache.get(key)
        if found is None:
            found = [(self.index(m.start()), self.index(m.end() - 1) + 1) for m in pattern.finditer(self.text)]
            self._cache[key] = found
        return found

    @staticmethod
    def _spans(ids: List[int]) -> List[Tuple[int, int]]:
        """For each token, the [start, end) of the run of tokens sharing its id (its clause or sentence)."""
        out: List[Tuple[int, int]] = []
        start = 0
        for i in range(1, len(ids) + 1):
            if i == len(ids) or ids[i] != ids[start]:
                out.extend([(start, i)] * (i - start))
                start = i
        return out

    def clause_start(self, i: int) -> int:
        return self._clause_spans[i][0]

    def clause_span(self, i: int) -> Tuple[int, int]:
        return self._clause_spans[i]

    def sentence_span(self, i: int) -> Tuple[int, int]:
        return self._sentence_spans[i]

    def negations(self) -> List[int]:
        """Token indexes of negation cues that negate (pseudo-negations and answer words left out)."""
        if self._negations is None:
            common = self.common
            pseudo = {i for s, e in self.find(common.not_negation) for i in range(s, e)}
            out = []
            for s, _e in self.find(common.negation):
                if s in pseudo:
                    continue
                if (
                    self.tokens[s] in common.answer_words
                    and s + 1 < len(self.tokens)
                    and self.tokens[s + 1] in common.subjects
                ):
                    continue  # "no my face is swelling": an answer, then a statement
                out.append(s)
            self._negations = out
        return self._negations

    def negated(self, start: int, exempt: frozenset = frozenset()) -> bool:
        """True when a negation cue comes before token `start` in its clause, within the negation's reach."""
        low = max(self.clause_start(start), start - self.common.reach)
        return any(low <= i < start and i not in exempt for i in self.negations())

    def before_in_clause(self, pattern: Optional[re.Pattern[str]], start: int) -> bool:
        low = self.clause_start(start)
        return any(low <= s < start for s, _ in self.find(pattern))

    def in_span(self, pattern: Optional[re.Pattern[str]], span: Tuple[int, int]) -> bool:
        return any(span[0] <= s < span[1] for s, _ in self.find(pattern))

    def words(self, start: int, end: int) -> List[str]:
        return [t for t in self.tokens[start:end] if t not in _PUNCT]


# ---- the cue files -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # hashed by identity: it keys the message cache
class _Common:
    negation: Optional[re.Pattern[str]]
    not_negation: Optional[re.Pattern[str]]
    clause_breaks: Optional[re.Pattern[str]]
    subjects: frozenset
    answer_words: frozenset
    lead_ins: frozenset
    politeness: frozenset
    reach: int


@dataclass(frozen=True)
class _Rule:
    groups: Tuple[re.Pattern[str], ...]
    scope: str  # clause | sentence | message
    within: Optional[int]


@dataclass(frozen=True)
class _Flag:
    flag: RedFlag
    any: Optional[re.Pattern[str]]
    rules: Tuple[_Rule, ...]
    unless: Optional[re.Pattern[str]]


@dataclass(frozen=True)
class _FlagCues:
    flags: Tuple[_Flag, ...]
    past: Optional[re.Pattern[str]]
    present: Optional[re.Pattern[str]]
    past_lenders: Optional[re.Pattern[str]]
    hypothetical: Optional[re.Pattern[str]]
    not_hypothetical: Optional[re.Pattern[str]]
    indications: Optional[re.Pattern[str]]
    question_openers: frozenset
    speakers: frozenset
    positives: Tuple[re.Pattern[str], ...]  # every phrase and group: negations inside them negate nothing


# One section's cues by key: a compiled alternation (Optional[re.Pattern[str]]) or, for the keys in _WORD_KEYS, a
# frozenset of words; which one is fixed by the key, so the readers use them untyped.
Section = Dict[str, Any]


@dataclass(frozen=True)
class _Cues:
    common: _Common
    person: Section
    stop: Section
    restart: Section
    why: Section
    correction: Section
    question: Section


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise CueError(f"cue file not found: {path} (set LEXICON_DIR)") from exc
    except yaml.YAMLError as exc:
        raise CueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CueError(f"{path}: expected a mapping at the top")
    return data


def _section(data: Mapping, name: str, path: Path, keys: Sequence[str]) -> Mapping:
    section = data.get(name)
    if not isinstance(section, dict):
        raise CueError(f"{path}: missing section {name!r}")
    unknown = set(section) - set(keys)
    if unknown:
        raise CueError(
            f"{path}: {name}: unknown key(s) {', '.join(sorted(map(str, unknown)))} (known: {', '.join(keys)})"
        )
    return section


def _lexicon_dir() -> Path:
    from bot import settings

    return Path(settings.get().lexicon_dir)


_PATTERN_KEYS = {
    "person": (
        "alone",
        "phrases",
        "verbs",
        "call_verbs",
        "people",
        "call_people",
        "humans",
        "me_verbs",
        "me_followers",
        "me_not_before",
        "frames",
        "want_frames",
        "not_frames",
        "owners",
        "at_the_visit",
    ),
    "stop": ("alone", "phrases", "verbs", "objects", "frames", "go_verbs", "go_frames", "not_frames"),
    "restart": ("phrases", "blocked", "conversation", "frames"),
    "why": ("alone", "phrases"),
    "correction": ("openers", "lead_ins", "wait_words", "wait_then", "phrases"),
    "question": (
        "frames",
        "auxiliaries",
        "subjects",
        "person_auxiliaries",
        "persons",
        "wh_free",
        "wh_aux",
        "wh_always",
        "statement_next",
    ),
}
# read as sets of (normalised) words or whole phrases, not as patterns
_WORD_KEYS = {
    "objects",
    "subjects",
    "statement_next",
    "owners",
    "blocked",
    "conversation",
    "me_not_before",
    "me_followers",
    "lead_ins",
    "alone",
    "auxiliaries",
    "person_auxiliaries",
    "persons",
    "wh_free",
    "wh_aux",
    "wh_always",
}


@lru_cache(maxsize=4)
def _load_cues(path: Path) -> _Cues:
    data = _read(path)
    where = str(path)
    c = _section(
        data,
        "common",
        path,
        ("negation", "not_negation", "clause_breaks", "subjects", "answer_words", "lead_ins", "politeness", "reach"),
    )
    common = _Common(
        negation=_compile(c.get("negation"), f"{where}: common.negation"),
        not_negation=_compile(c.get("not_negation"), f"{where}: common.not_negation"),
        clause_breaks=_compile(c.get("clause_breaks"), f"{where}: common.clause_breaks"),
        subjects=_words(c.get("subjects"), f"{where}: common.subjects"),
        answer_words=_words(c.get("answer_words"), f"{where}: common.answer_words"),
        lead_ins=_words(c.get("lead_ins"), f"{where}: common.lead_ins"),
        politeness=_words(c.get("politeness"), f"{where}: common.politeness"),
        reach=int(c.get("reach") or 8),
    )
    sections: Dict[str, Section] = {}
    for name, keys in _PATTERN_KEYS.items():
        raw = _section(data, name, path, keys)
        compiled: Section = {}
        for key in keys:
            spot = f"{where}: {name}.{key}"
            if key in _WORD_KEYS:
                compiled[key] = _words(raw.get(key), spot)
            else:
                compiled[key] = _compile(raw.get(key), spot)
        sections[name] = compiled
    return _Cues(common=common, **sections)


_FLAG_KEYS = ("id", "label", "any", "all", "scope", "within", "unless")


@lru_cache(maxsize=4)
def _load_flags(path: Path) -> _FlagCues:
    data = _read(path)
    where = str(path)
    unknown = set(data) - {
        "flags",
        "past",
        "past_lenders",
        "present",
        "hypothetical",
        "not_hypothetical",
        "indications",
        "question_openers",
        "speakers",
    }
    if unknown:
        raise CueError(f"{path}: unknown section(s) {', '.join(sorted(map(str, unknown)))}")
    entries = data.get("flags")
    if not isinstance(entries, list) or not entries:
        raise CueError(f"{path}: 'flags' must be a list of red flags")
    flags: List[_Flag] = []
    labels: Dict[str, str] = {}
    positives: List[re.Pattern[str]] = []
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise CueError(f"{path}: flag {n}: expected a mapping with id, label and any/all")
        spot = f"{where}: flag {n} ({entry.get('id')})"
        bad = set(entry) - set(_FLAG_KEYS)
        if bad:
            raise CueError(
                f"{spot}: unknown key(s) {', '.join(sorted(map(str, bad)))} (known: {', '.join(_FLAG_KEYS)})"
            )
        missing = [k for k in ("id", "label") if not str(entry.get(k) or "").strip()]
        if missing:
            raise CueError(f"{spot}: missing {', '.join(missing)}")
        if not entry.get("any") and not entry.get("all"):
            raise CueError(f"{spot}: needs 'any' (phrases) or 'all' (groups that must co-occur)")
        flag_id, label = str(entry["id"]).strip(), str(entry["label"]).strip()
        if labels.setdefault(flag_id, label) != label:
            raise CueError(f"{spot}: id {flag_id!r} is used with two labels ({labels[flag_id]!r}, {label!r})")
        scope = str(entry.get("scope") or "clause")
        if scope not in ("clause", "sentence", "message"):
            raise CueError(f"{spot}: scope must be clause, sentence or message, not {scope!r}")
        within = entry.get("within")
        if within is not None and (not isinstance(within, int) or within <= 0):
            raise CueError(f"{spot}: within must be a positive whole number of words")
        any_pattern = _compile(entry.get("any"), f"{spot}: any")
        rules: List[_Rule] = []
        groups_raw = entry.get("all") or []
        if groups_raw:
            if (
                not isinstance(groups_raw, list)
                or not all(isinstance(g, list) and g for g in groups_raw)
                or len(groups_raw) < 2
            ):
                raise CueError(f"{spot}: 'all' must be a list of at least two lists of phrases")
            groups = tuple(_compile_some(g, f"{spot}: all[{i + 1}]") for i, g in enumerate(groups_raw))
            rules.append(_Rule(groups=groups, scope=scope, within=within))
            positives.extend(groups)
        if any_pattern is not None:
            positives.append(any_pattern)
        flags.append(
            _Flag(RedFlag(flag_id, label), any_pattern, tuple(rules), _compile(entry.get("unless"), f"{spot}: unless"))
        )
    return _FlagCues(
        flags=tuple(flags),
        past=_compile(data.get("past"), f"{where}: past"),
        present=_compile(data.get("present"), f"{where}: present"),
        past_lenders=_compile(data.get("past_lenders"), f"{where}: past_lenders"),
        hypothetical=_compile(data.get("hypothetical"), f"{where}: hypothetical"),
        not_hypothetical=_compile(data.get("not_hypothetical"), f"{where}: not_hypothetical"),
        indications=_compile(data.get("indications"), f"{where}: indications"),
        question_openers=_words(data.get("question_openers"), f"{where}: question_openers"),
        speakers=_words(data.get("speakers"), f"{where}: speakers"),
        positives=tuple(positives),
    )


_paths: Dict[str, Path] = {}


def _path(name: str) -> Path:
    """The cue file, in LEXICON_DIR (settings read once per process; reload() forgets it)."""
    if "dir" not in _paths:
        _paths["dir"] = _lexicon_dir()
    return _paths["dir"] / name


def cues() -> _Cues:
    return _load_cues(_path(DIGRESSIONS_FILE))


def flag_cues() -> _FlagCues:
    return _load_flags(_path(RED_FLAGS_FILE))


def reload() -> None:
    """Forget the cue files and LEXICON_DIR: the next call reads them again (tests; a clinic edit without restart)."""
    _paths.clear()
    _load_cues.cache_clear()
    _load_flags.cache_clear()
    _read_message.cache_clear()


def check(lexicon_dir: Optional[Path] = None) -> None:
    """Load both cue files (raises CueError naming the file and entry when one is malformed)."""
    base = Path(lexicon_dir) if lexicon_dir else _lexicon_dir()
    _load_cues(base / DIGRESSIONS_FILE)
    _load_flags(base / RED_FLAGS_FILE)


@lru_cache(maxsize=32)
def _read_message(text: str, common: _Common) -> _Message:
    return _Message(text, common)


def _message(text: str) -> _Message:
    """The message read once for every detector the dialogue asks about it (a small cache, keyed by the text)."""
    return _read_message(text, cues().common)


# ---- red flags -------------------------------------------------------------------------------------------------------


def _flag_match_ok(msg: _Message, fc: _FlagCues, flag: _Flag, span: Tuple[int, int], exempt: frozenset) -> bool:
    start = span[0]
    if msg.negated(start, exempt):
        return False
    low = msg.clause_start(start)
    hypothetical = [s for s, _ in msg.find(fc.hypothetical) if low <= s < start]
    if hypothetical:
        pseudo = {i for s, e in msg.find(fc.not_hypothetical) for i in range(s, e)}
        if any(s not in pseudo for s in hypothetical):
            return False
    if flag.unless is not None and msg.in_span(flag.unless, msg.sentence_span(start)):
        return False
    for s, e in msg.find(fc.indications):
        if e > start or msg.clause[s] != msg.clause[start]:
            continue
        gap = msg.tokens[e:start]
        if not gap or (
            len(gap) <= 3
            and any(t in ("and", "or", ",", "&") for t in gap)
            and not any(t in msg.common.subjects and t not in ("and", ",") for t in gap)
        ):
            return False  # "propranolol for my chest pains", "for anxiety and chest pains", "when I'm wheezy"
    return True


def _hypothetical_question(msg: _Message, fc: _FlagCues, start: int) -> bool:
    """A question about the treatment ("is facial swelling common?"), not about someone now."""
    s, e = msg.sentence_span(start)
    words = msg.tokens[s:e]
    if not words or words[-1] != "?":
        return False
    lead = [w for w in words if w not in _PUNCT and w not in msg.common.lead_ins]
    if not lead or lead[0] not in fc.question_openers:
        return False
    return not any(w in fc.speakers for w in words)


def _in_past(msg: _Message, fc: _FlagCues, spans: Sequence[Tuple[int, int]]) -> bool:
    """A clause of the match says it was in the past (or is a habit), and none of them says now."""
    clauses = {msg.clause_span(s) for s, _ in spans}
    for _, end in list(clauses):
        # "..., that was two years ago": the next clause of the sentence lends its time
        if end < len(msg.tokens) and msg.sentence[end] == msg.sentence[end - 1]:
            nxt = msg.clause_span(end)
            lenders = msg.find(fc.past_lenders)
            if any(s == nxt[0] or (s == nxt[0] + 1 and msg.tokens[nxt[0]] in _PUNCT) for s, _ in lenders):
                clauses.add(nxt)
    past = any(msg.in_span(fc.past, c) for c in clauses)
    return past and not any(msg.in_span(fc.present, c) for c in clauses)


def _scope_key(msg: _Message, scope: str, i: int) -> int:
    if scope == "clause":
        return msg.clause[i]
    if scope == "sentence":
        return msg.sentence[i]
    return 0


def _rule_hits(msg: _Message, fc: _FlagCues, flag: _Flag, rule: _Rule, exempt: frozenset) -> bool:
    per_group = []
    for group in rule.groups:
        spans = [
            sp
            for sp in msg.find(group)
            if _flag_match_ok(msg, fc, flag, sp, exempt) and not _hypothetical_question(msg, fc, sp[0])
        ]
        if not spans:
            return False
        per_group.append(spans[:6])
    for combo in product(*per_group):
        keys = {_scope_key(msg, rule.scope, s) for s, _ in combo}
        if len(keys) != 1:
            continue
        if rule.within is not None and max(s for s, _ in combo) - min(e for _, e in combo) > rule.within:
            continue  # more than `within` words between the groups
        if _in_past(msg, fc, combo):
            continue
        return True
    return False


def red_flags(text: str) -> List[RedFlag]:
    """The red-flag statements in the message, in the order of data/lexicon/red_flags.yml (empty for ordinary answers).

    Negated ("no trouble breathing"), past or habitual ("I fainted once at the dentist", "I bruise easily"),
    hypothetical ("what if my face swells?") and mild ("a bit swollen") mentions are not red flags; someone else's
    emergency is ("my daughter can't breathe").
    """
    if not text or not text.strip():
        return []
    fc = flag_cues()
    msg = _message(text)
    if not msg.tokens:
        return []
    exempt = frozenset(i for p in fc.positives for s, e in msg.find(p) for i in range(s, e))
    found: List[RedFlag] = []
    for flag in fc.flags:
        if flag.flag in found:
            continue
        hit = False
        for span in msg.find(flag.any):
            if (
                _flag_match_ok(msg, fc, flag, span, exempt)
                and not _hypothetical_question(msg, fc, span[0])
                and not _in_past(msg, fc, [span])
            ):
                hit = True
                break
        if not hit:
            hit = any(_rule_hits(msg, fc, flag, rule, exempt) for rule in flag.rules)
        if hit:
            found.append(flag.flag)
    return found


# ---- shared helpers for the request detectors ----------------------------------------------------------------------


def _core(msg: _Message, start: int, end: int) -> List[str]:
    """The words of a span with lead-ins ("hi", "ok", "so") and politeness ("please", "thanks") taken off its ends."""
    words = msg.words(start, end)
    while words and (words[0] in msg.common.lead_ins or words[0] in msg.common.politeness):
        words.pop(0)
    while words and words[-1] in msg.common.politeness:
        words.pop()
    return words


def _phrase_in(words: Sequence[str], phrases: frozenset) -> bool:
    return " ".join(words) in phrases


def _clauses(msg: _Message) -> List[Tuple[int, int]]:
    out: List[Tuple[int, int]] = []
    i = 0
    while i < len(msg.tokens):
        span = msg.clause_span(i)
        out.append(span)
        i = span[1]
    return out


def _exempt(msg: _Message, patterns: Iterable[Optional[re.Pattern[str]]]) -> frozenset:
    return frozenset(i for p in patterns for s, e in msg.find(p) for i in range(s, e))


def _unnegated(msg: _Message, pattern: Optional[re.Pattern[str]], exempt: frozenset) -> List[Tuple[int, int]]:
    return [sp for sp in msg.find(pattern) if not msg.negated(sp[0], exempt)]


def _has_contact_details(text: str) -> bool:
    from bot.intake import parse_contact

    return parse_contact(text) is not None


# ---- a person -----------------------------------------------------------------------------------------------------


def _owned(msg: _Message, start: int, owners: frozenset) -> bool:
    return start > 0 and msg.tokens[start - 1] in owners


def _near(
    first: Sequence[Tuple[int, int]], second: Sequence[Tuple[int, int]], gap: int
) -> List[Tuple[int, int, int, int]]:
    """Pairs (a from first, b from second) with b starting 0..gap tokens after a ends (callers check the clause)."""
    pairs = []
    for a in first:
        for b in second:
            if a[1] <= b[0] <= a[1] + gap:
                pairs.append((a[0], a[1], b[0], b[1]))
    return pairs


def asks_for_person(text: str) -> bool:
    """An explicit request to talk to, or be contacted by, a human ("can I speak to someone?", "human please",
    "could one of your nurses give me a ring?", "can someone call me back"). A name is never one ("Rich Person",
    "Grace Nurse"): a request needs a verb of contact or a request frame, not just the noun."""
    if not text or not text.strip():
        return False
    c = cues()
    p = c.person
    msg = _message(text)
    if not msg.tokens:
        return False
    if _phrase_in(_core(msg, 0, len(msg.tokens)), p["alone"]):
        return True
    exempt = _exempt(msg, (p["phrases"], p["me_verbs"], p["verbs"], p["call_verbs"]))
    owners = p["owners"]
    if msg.find(p["at_the_visit"]):
        return False  # "I'd like to talk it through with the practitioner at the consultation": a note

    def framed(start: int) -> bool:
        """A request frame before `start` in its clause (or the clause opens with the verb), and no 'do I need to'."""
        if msg.before_in_clause(p["not_frames"], start + 1):
            return False
        if msg.before_in_clause(p["frames"], start):
            return True
        return not _core(msg, msg.clause_start(start), start)  # imperative: "put me through to reception"

    for span in _unnegated(msg, p["phrases"], exempt):
        if not msg.before_in_clause(p["not_frames"], span[0]):
            return True
    people = [sp for sp in msg.find(p["people"]) if not _owned(msg, sp[0], owners)]
    call_people = people + [sp for sp in msg.find(p["call_people"]) if not _owned(msg, sp[0], owners)]

    def same_clause(a: int, b: int) -> bool:
        return msg.clause[a] == msg.clause[b]

    # verb, then a person: "can I speak to one of the nurses", "put me through to reception"
    for verbs, who in ((p["verbs"], people), (p["call_verbs"], call_people)):
        for vs, _ve, ps, _pe in _near(msg.find(verbs), who, 4):
            if same_clause(vs, ps) and not msg.negated(vs, exempt) and framed(vs):
                return True
    # a person, then a verb: "can someone call me back", "is there anyone I can talk to"
    contact = (
        msg.find(p["call_verbs"])
        + msg.find(p["me_verbs"])
        + [sp for sp in msg.find(p["verbs"]) if msg.tokens[sp[0]] not in ("see", "have", "get")]
    )
    for ps, _pe, vs, _ve in _near(people, contact, 4):
        if (
            same_clause(ps, vs)
            and not msg.negated(ps, exempt)
            and not msg.negated(vs, exempt)
            and msg.in_span(p["frames"], msg.clause_span(vs))
            and not msg.before_in_clause(p["not_frames"], vs)
        ):
            return True
    # "I want a human", "get me a real person", "is there a human I can talk to"
    for fs, _fe, hs, _he in _near(msg.find(p["want_frames"]), msg.find(p["humans"]), 2):
        if same_clause(fs, hs) and not msg.negated(fs, exempt) and not msg.before_in_clause(p["not_frames"], fs):
            return True
    # "call me back", "give me a ring": the assistant cannot, so a person is meant; but "you can call me Sam" is a
    # name, and "call me on 07700 900123" (no request frame) gives details
    for ms, me in msg.find(p["me_verbs"]):
        if msg.negated(ms, exempt) or msg.before_in_clause(p["not_frames"], ms):
            continue
        following = msg.words(me, len(msg.tokens))
        after = following[0] if following and me < len(msg.tokens) and msg.tokens[me] not in _PUNCT else ""
        if msg.tokens[me - 1] != "back" and after and after not in p["me_followers"]:
            continue
        explicit = msg.before_in_clause(p["frames"], ms)
        imperative = not _core(msg, msg.clause_start(ms), ms)
        if not (explicit or imperative):
            continue
        if "back" not in msg.tokens[ms:me] and _has_contact_details(text):
            continue  # "please ring me after 6 on 07700 900123": the contact answer, a preference
        return True
    return False


# ---- stop / restart -------------------------------------------------------------------------------------------------


def asks_to_stop(text: str) -> bool:
    """ "stop", "I want to stop", "can we finish later", "cancel", "quit", "end the chat", "bye for now". Not
    "stopped taking it in March", "I stopped roaccutane", "non-stop", "stop date", "bus stop", "stop taking aspirin"."""
    if not text or not text.strip():
        return False
    c = cues()
    s = c.stop
    msg = _message(text)
    if not msg.tokens:
        return False
    exempt = _exempt(msg, (s["phrases"], s["verbs"]))
    for start, end in _clauses(msg):
        core = _core(msg, start, end)
        if core and (_phrase_in(core, s["alone"])):
            return True
    if _unnegated(msg, s["phrases"], exempt):
        return True
    objects = s["objects"] | c.common.politeness
    verbs = [(sp, False) for sp in msg.find(s["verbs"])] + [(sp, True) for sp in msg.find(s["go_verbs"])]
    for (vs, ve), go in verbs:
        if msg.negated(vs, exempt) or msg.before_in_clause(s["not_frames"], vs):
            continue  # "I don't want to stop", "do I need to stop?"
        cs, ce = msg.clause_span(vs)
        if go:
            if not msg.before_in_clause(s["go_frames"], vs):
                continue  # "I have to go now" (but "let's go", "ok go")
        elif _core(msg, cs, vs) and not msg.before_in_clause(s["frames"], vs):
            continue  # a request ("can we stop here") or the clause opens with the verb ("stop asking me")
        if all(w in objects for w in msg.words(ve, ce)):
            return True  # "stop", "stop it now please" (but "stop taking it", "stop date")
    return False


def asks_to_restart(text: str) -> bool:
    """Explicit: "start again", "start over", "can we begin from scratch", "restart". Never "yes please start", "I
    started a new pill", "start", "can I restart retinol after?"."""
    if not text or not text.strip():
        return False
    c = cues()
    r = c.restart
    msg = _message(text)
    exempt = _exempt(msg, (r["phrases"],))
    for start, _end in _unnegated(msg, r["phrases"], exempt):
        cs, ce = msg.clause_span(start)
        clause = msg.words(cs, ce)
        if any(w in r["blocked"] for w in clause):
            continue  # "start again on roaccutane", "restart my retinol", "my skin needs a reset"
        if not _core(msg, cs, start):
            return True  # "start again please", "restart"
        if not msg.before_in_clause(r["frames"], start):
            continue  # "the cold sores start again every winter"
        if any(w in r["conversation"] for w in clause):
            return True  # "can we start over"
        ss, se = msg.sentence_span(start)
        if not any(w in r["blocked"] for w in msg.words(ss, se)):
            return True  # "I'd like to start again" (but "I stopped roaccutane, can I start again?")
    return False


# ---- why / correction / question ------------------------------------------------------------------------------------


def asks_why(text: str) -> bool:
    """ "why do you ask", "why do you need that", "what's that got to do with it", "what's this for", "why?"."""
    if not text or not text.strip():
        return False
    c = cues()
    w = c.why
    msg = _message(text)
    for start, end in _clauses(msg):
        if _phrase_in(_core(msg, start, end), w["alone"]):
            return True
    return bool(_unnegated(msg, w["phrases"], _exempt(msg, (w["phrases"],))))


def wants_correction(text: str) -> bool:
    """ "actually ...", "I made a mistake", "can I change my answer", "I said X but I meant Y", "that's wrong"."""
    if not text or not text.strip():
        return False
    c = cues()
    k = c.correction
    msg = _message(text)
    words = msg.words(0, len(msg.tokens))
    i = 0
    while i < len(words) and words[i] in k["lead_ins"]:
        i += 1
    if k["openers"] is not None and (k["openers"].match(" ".join(words[i:])) or k["openers"].match(" ".join(words))):
        return True  # "actually I do get cold sores", "oops wrong one", "correction: it's 07700..."
    if k["wait_words"] is not None and k["wait_then"] is not None:
        wait = k["wait_words"].match(" ".join(words))
        if wait:
            rest = " ".join(words)[wait.end() :].strip()
            if k["wait_then"].match(rest):
                return True  # "hang on, I do have a cold sore"
    return bool(_unnegated(msg, k["phrases"], _exempt(msg, (k["phrases"],))))


def is_question(text: str) -> bool:
    """The message asks something: it holds a "?", or opens like a question ("how long does it last", "can I have
    it if I'm pregnant", "is it painful") or with a question frame ("I was wondering if..."), even without "?"."""
    if not text:
        return False
    if "?" in re.sub(r"https?://\S+", " ", text).replace("？", "?") or "？" in text:
        return True
    c = cues()
    q = c.question
    msg = _message(text)
    if not msg.tokens:
        return False
    if msg.find(q["frames"]):
        return True
    for start, end in _clauses(msg):
        if msg.tokens[start] in ".!,;:":
            start += 1
        words = _core(msg, start, end)
        if len(words) < 2:
            if words and words[0] in q["wh_always"]:
                return True
            continue
        first, second = words[0], words[1]
        third = words[2] if len(words) > 2 else ""
        if first in q["wh_always"]:
            return True
        if first in q["wh_free"] and second not in q["statement_next"]:
            return True  # "how long does it last", "what about my neck" (but "what I want is...")
        if first in q["wh_aux"] and (second in q["auxiliaries"] or second in q["person_auxiliaries"]):
            return True  # "when can I book" (but "when I was a kid...")
        if first in q["auxiliaries"] and (
            second in q["subjects"] or second[:1].isdigit() or second == "not" and third in q["subjects"]
        ):
            return True  # "is it painful", "can I have it", "isn't it expensive"
        if first in q["person_auxiliaries"] and (second in q["persons"] or second == "not" and third in q["persons"]):
            return True  # "do you do lips", "have you got a slot" (but "do get them sometimes")
    return False
