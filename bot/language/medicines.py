"""Reading the medicines a client lists (`read_medications`): each with its generic, class and time, and the words
not recognised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Dict, List, Optional, Tuple

from bot.language import context, context_pipeline
from bot.language.facts import clean


@dataclass(frozen=True)
class MedicationFact:
    name: str  # as written
    canonical: str  # "Eliquis (apixaban)"
    generic: str
    drug_class: str
    current: bool
    months_ago: Optional[float]
    negated: bool
    other_person: bool
    uncertain: bool = False
    code: Optional[str] = None
    start: int = 0
    end: int = 0

    def to_answer(self) -> Dict[str, object]:
        """A medication_facts entry (bot/screening/answers.py)."""
        return {
            "name": self.name,
            "generic": self.generic,
            "drug_class": self.drug_class,
            "current": self.current,
            "months_ago": self.months_ago,
        }


@dataclass(frozen=True)
class MedicationReading:
    none_stated: bool  # the client said they take nothing
    facts: Tuple[MedicationFact, ...] = ()  # every medicine named, denied and other people's included (flagged)
    unrecognised: Tuple[str, ...] = ()  # medicine-like words not in the lexicon, verbatim

    def own(self) -> List[MedicationFact]:
        return [f for f in self.facts if not f.negated and not f.other_person]


_NONE = re.compile(
    r"^(?:none|nothing|nil|n/?a|no|nope|nah|zero|nada|no meds|no medication|no medications|no medicine|no medicines|"
    r"not any|none at all|nothing at all)\b"
    r"|\b(?:not (?:on|taking|currently taking|currently on) (?:any|anything)|(?:do ?n[o']?t|dont|do not) take (?:any|"
    r"anything)|"
    r"no (?:regular |current |other |prescribed )?(?:meds|medication|medications|medicines|medicine|tablets|pills|"
    r"drugs)|"
    r"nothing (?:regular|at the moment|currently|right now|prescribed)|none (?:at the moment|currently|right now)|"
    r"i'?m not on (?:any|anything)|im not on (?:any|anything)|i take nothing|i'?m on nothing|not on any meds)\b"
)
_DOSE = re.compile(
    r"^(?:\d+(?:[.,]\d+)?(?:mg|mcg|µg|ug|g|ml|iu|%|x)?|x\d+|\d+x|mg|mcg|µg|ug|ml|iu|units?|%|x|/|-|"
    r"od|bd|tds|qds|prn|tabs?|caps?)$",
    re.IGNORECASE,
)


def _word_ok(word: str, everyday: frozenset, known: frozenset) -> bool:
    """True when the word is never an unrecognised medicine name: everyday, a dose, or part of a lexicon form."""
    w = word.lower().strip("'")
    if not w or not re.search(r"[a-z]", w) or len(w) < 3:
        return True
    if _DOSE.match(w) or w in everyday or w in known:
        return True
    return w.endswith("s") and (w[:-1] in everyday or w[:-1] in known)


def read_medications(text: str, today: Optional[date] = None) -> MedicationReading:
    """The medicines in a free answer to "what medicines do you take?"."""
    r = context_pipeline.pipeline()
    facts = [f for f in context.analyse(text, today) if f.kind == "medication"]
    meds = tuple(
        MedicationFact(
            name=f.text,
            canonical=f.canonical,
            generic=f.generic or f.canonical,
            drug_class=f.drug_class or "other",
            current=bool(f.current),
            months_ago=f.months_ago,
            negated=f.negated,
            other_person=f.other_person,
            uncertain=f.uncertain,
            code=f.code,
            start=f.start,
            end=f.end,
        )
        for f in facts
    )
    doc = r.doc(context.plain(text or ""))
    covered = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    known = r.lexicon.known_words
    unrecognised: List[str] = []
    i = 0
    tokens = list(doc)
    while i < len(tokens):
        tok = tokens[i]
        if tok.i in covered or tok.is_punct or tok.like_num or _word_ok(tok.text, r.everyday, known):
            i += 1
            continue
        start = i
        j = i + 1
        # a run of unknown words ("zorbitol forte"), then the dose that follows it ("20mg", "20 mg")
        while (
            j < len(tokens)
            and tokens[j].i not in covered
            and not tokens[j].is_punct
            and not tokens[j].like_num
            and not _word_ok(tokens[j].text, r.everyday, known)
        ):
            j += 1
        while (
            j < len(tokens) and (tokens[j].like_num or _DOSE.match(tokens[j].text)) and tokens[j].text not in ("-", "/")
        ):
            j += 1
        unrecognised.append((text or "")[doc[start].idx : doc[j - 1].idx + len(doc[j - 1].text)])  # verbatim
        i = j
    own = [m for m in meds if not m.negated and not m.other_person]
    none_stated = bool(_NONE.search(clean(text))) and not own and not unrecognised
    if (
        not none_stated
        and meds
        and not own
        and not unrecognised
        and re.search(
            r"\b(?:no|not|n't|nt|never|"
            r"none)\b",
            clean(text),
        )
    ):
        none_stated = True  # "I don't take any blood thinners": nothing taken
    return MedicationReading(none_stated=none_stated, facts=meds, unrecognised=tuple(dict.fromkeys(unrecognised)))
