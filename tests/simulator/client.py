"""A simulated client: a seeded profile (the truth about one person) and a plan, played one message at a time.

`Profile` is drawn once from the seed, before the conversation, so the truth never depends on what the assistant
does; `SimulatedClient.next_move(state)` then answers whatever the assistant is asking (its requested slot) from
that truth, inserts the planned digressions, and keeps track of what the assistant has been told
(`observe(move, state)` after each turn). Everything random comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from bot.screening.answers import FURTHER_CHECKS, NO, UNSURE, YES, YES_NO_KEYS
from tests.simulator import corpus as corpus_module
from tests.simulator.corpus import Corpus, Entry
from tests.simulator.transcript import DIGRESSION, OPEN, RESUME, Segment

# The questions in the order the form asks them (requested slots). `confirmed` is the summary.
ORDER: Tuple[str, ...] = (
    "consent",
    "name",
    "contact",
    "concerns",
    "area",
    "medications",
    *YES_NO_KEYS,
    "further_checks",
    "notes",
    "confirmed",
)
# The yes/no question each reason code belongs to (docs/architecture.md, "Reason codes"; the same table as
# actions/tracker_answers.py).
CODE_TO_SLOT = {
    "anticoagulant": "blood_thinners",
    "bleeding_disorder": "bleeding_disorder",
    "herpes_history": "herpes_history",
    "active_herpes": "herpes_active",
    "keloid_tendency": "keloid",
    "active_acne": "active_acne",
    "isotretinoin_recent": "isotretinoin",
    "pregnancy": "pregnancy",
    "skin_infection": "skin_infection",
}
HUMAN = "client_requested_human"
OPENERS = ("hi", "hello", "hiya", "hi there", "good morning", "hey")
MAX_TURNS = 160
GIVE_UP_AFTER = 5  # the same question asked this many times in a row after answers: the client leaves

# How often the truth is "yes" / "unsure" for each yes/no question (the rest is "no"). herpes_active is given a
# history of cold sores; blood_thinners and isotretinoin are also "yes" when the medicines say so.
RATES: Dict[str, Tuple[float, float]] = {
    "blood_thinners": (0.04, 0.03),
    "bleeding_disorder": (0.03, 0.03),
    "herpes_history": (0.25, 0.04),
    "herpes_active": (0.15, 0.05),
    "keloid": (0.07, 0.03),
    "active_acne": (0.10, 0.03),
    "isotretinoin": (0.04, 0.03),
    "pregnancy": (0.05, 0.03),
    "skin_infection": (0.05, 0.03),
}
# Shares of the kinds of medicines answer.
MEDICATION_GROUPS = (
    ("none", 0.42),
    ("blood_thinner", 0.12),
    ("isotretinoin", 0.05),
    ("unrecognised", 0.05),
    ("other", 0.36),
)
ALSO_WEIGHT = 0.3  # a sentence that volunteers more facts is drawn less often than a plain one

# What the client says when re-asked and no other sentence carries the same truth.
CONCERN_WORDS = {
    "acne_scarring": "acne scars",
    "wrinkles_laxity": "wrinkles",
    "pigmentation": "pigmentation",
    "rosacea": "rosacea",
    "pores_texture": "large pores",
    "stretch_marks": "stretch marks",
    "hair_loss": "hair loss",
    "other_scars": "a scar",
}
CHECK_WORDS = {
    "under_18": "I'm under 18",
    "skin_lesion": "a mole in the area has changed",
    "immunosuppression": "I'm immunosuppressed",
    "diabetes_uncontrolled": "my diabetes isn't well controlled",
    "autoimmune": "I have an autoimmune disease",
    "vitiligo": "I have vitiligo",
    "rosacea_flare": "my rosacea is flaring",
    "recent_sun_damage": "I got sunburnt last week",
    "recent_procedure": "I had a laser treatment on the area last week",
    "injectables_recent": "I had fillers in the area last week",
    "allergy_metal_or_anaesthetic": "I'm allergic to nickel",
    "unsure": "I'm not sure about those",
}


@dataclass(frozen=True)
class Move:
    """One client message and what the client meant by it."""

    text: str
    kind: str  # open | answer | readback | confirm | digression | resume
    detail: str = ""
    question: Optional[str] = None  # the requested slot it was sent at


@dataclass
class Profile:
    seed: int
    consent: str  # yes | no
    consent_first: List[Entry]  # sent before the consent answer: a "why" or a hesitant "not sure"
    consent_answer: Entry
    name: str
    name_entry: Entry
    contact_entry: Entry
    invalid_contact: Optional[Entry]
    email: Optional[str]
    phone: Optional[str]
    concerns_entry: Entry
    concerns: List[str]
    area_entry: Entry
    area: str
    medications_entry: Entry
    medicines: List[Dict[str, Any]]  # the labels: {name, class, current}
    unrecognised: List[str]
    yes_no: Dict[str, str]  # the truth of each yes/no question asked of this client
    answers: Dict[str, Entry]  # the first answer to each yes/no question
    isotretinoin_months_ago: Optional[float]
    checks: List[str]
    checks_entry: Entry
    notes_entry: Entry

    @property
    def medication_facts(self) -> List[Dict[str, Any]]:
        """The medicines as the engine reads them (bot/screening/answers.py)."""
        return [
            {
                "name": m["name"],
                "generic": m["name"],
                "drug_class": m["class"],
                "current": bool(m.get("current", True)),
                "months_ago": 0.0 if m.get("current", True) else m.get("months_ago"),
            }
            for m in self.medicines
        ]

    @property
    def flagged_medicines(self) -> List[Dict[str, Any]]:
        """Labelled medicines that must never be lost: blood thinners and isotretinoin."""
        return [
            m for m in self.medicines if m["class"] in ("anticoagulant", "antiplatelet") or m["name"] == "isotretinoin"
        ]

    @property
    def person_in_notes(self) -> bool:
        return HUMAN in self.notes_entry.also

    def truth(self, keys: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """The answers as the engine and the store hold them, for these answer keys (every one when None)."""
        everything: Dict[str, Any] = {
            "name": self.name,
            "contact_email": self.email,
            "contact_phone": self.phone,
            "concerns": list(self.concerns),
            "area": self.area,
            "medications": "none" if self.medications_entry.get("none") else self.medications_entry.text,
            "medication_facts": self.medication_facts,
            "unrecognised_medications": list(self.unrecognised),
            **self.yes_no,
            "further_checks": list(self.checks),
            "notes": self.notes_entry.text,
        }
        if self.isotretinoin_months_ago is not None:
            everything["isotretinoin_months_ago"] = self.isotretinoin_months_ago
        groups = {
            "contact": ("contact_email", "contact_phone"),
            "medications": ("medications", "medication_facts", "unrecognised_medications"),
            "isotretinoin": ("isotretinoin", "isotretinoin_months_ago"),
        }
        if keys is None:
            chosen = everything
        else:
            wanted: Set[str] = set()
            for key in keys:
                wanted.update(groups.get(key, (key,)))
            chosen = {k: v for k, v in everything.items() if k in wanted}
        return {k: v for k, v in chosen.items() if v is not None}

    def describe(self) -> str:
        flags = ", ".join(f"{k}={v}" for k, v in self.yes_no.items() if v != NO) or "all no"
        meds = ", ".join(m["name"] + ("" if m.get("current", True) else " (stopped)") for m in self.medicines)
        meds = meds or ("none" if not self.unrecognised else "")
        if self.unrecognised:
            meds += (", " if meds else "") + "unrecognised " + "/".join(self.unrecognised)
        return (
            f"consent={self.consent} name={self.name!r} email={self.email} phone={self.phone} "
            f"medicines=[{meds}] {flags} checks={self.checks or '[]'}"
        )


@dataclass
class Plan:
    """What this client will do besides answering: digressions at a question, leaving, a slip corrected later."""

    abandon_at: Optional[str] = None
    stop_at: Optional[str] = None
    restart_at: Optional[str] = None
    person_at: Optional[str] = None
    urgent_at: Optional[str] = None
    slip: Optional[Tuple[str, str]] = None  # (question, the wrong answer given first)
    correction_at: Optional[str] = None  # where the slip is corrected: a later question, or "confirmed"
    noop_correction: bool = False  # at the summary, first "correct" an answer to what it already is
    faq_rate: float = 0.05
    why_rate: float = 0.03
    faq_after_decline: bool = False

    def describe(self) -> str:
        parts = [
            f"{k}={v}" for k, v in vars(self).items() if v not in (None, False) and k not in ("faq_rate", "why_rate")
        ]
        return ", ".join(parts) or "answers only"


# ----------------------------------------------------------------------------------------------- drawing a profile


def _weighted(rng: random.Random, entries: Sequence[Entry]) -> Entry:
    weights = [ALSO_WEIGHT if e.also else 1.0 for e in entries]
    return rng.choices(list(entries), weights=weights, k=1)[0]


def _yes_no_draw(rng: random.Random, key: str) -> str:
    yes, unsure = RATES[key]
    r = rng.random()
    return YES if r < yes else UNSURE if r < yes + unsure else NO


def _medication_group(entry: Entry) -> Optional[str]:
    medicines = entry.get("medicines") or []
    for m in medicines:
        # left out: facts whose truth is a judgement call (another oral retinoid; isotretinoin stopped at an
        # unlabelled time)
        if m["class"] == "oral_retinoid" and (m["name"] != "isotretinoin" or not m.get("current", True)):
            return None
    if entry.get("none"):
        return "none"
    if any(m["class"] in ("anticoagulant", "antiplatelet") and m.get("current", True) for m in medicines):
        return "blood_thinner"
    if any(m["name"] == "isotretinoin" for m in medicines):
        return "isotretinoin"
    if entry.get("unrecognised"):
        return "unrecognised"
    return "other"


def answer_pool(corpus: Corpus, question: str, means: Any) -> List[Entry]:
    """Answers to a yes/no (or the summary, or a read-back) question with this label, not_urgent ones included."""
    pool = corpus.where(question, means=means)
    pool += [e for e in corpus.entries("not_urgent") if e.get("question") == question and e.get("means") == means]
    return pool


class _Drawer:
    """Draws a consistent profile: a sentence that volunteers a fact makes that fact true, or is not chosen."""

    def __init__(self, rng: random.Random, corpus: Corpus):
        self.rng = rng
        self.corpus = corpus
        self.truth: Dict[str, str] = {}
        self.forced: Dict[str, str] = {}
        self.forced_checks: Set[str] = set()
        self.checks: Optional[List[str]] = None

    def _covering(self, codes: Set[str]) -> List[Entry]:
        return [e for e in self.corpus.entries("further_checks") if codes <= set(e.get("checks") or [])]

    def consistent(self, code: str, question: str) -> bool:
        if code in CODE_TO_SLOT:
            slot = CODE_TO_SLOT[code]
            if slot in self.truth:
                return self.truth[slot] == YES
            return not (code == "active_herpes" and self.truth.get("herpes_history", YES) != YES)
        if code in FURTHER_CHECKS:
            if self.checks is not None:
                return code in self.checks
            return bool(self._covering(self.forced_checks | {code}))
        return code == HUMAN and question == "notes"

    def apply(self, entry: Entry) -> None:
        for code in entry.also:
            if code in CODE_TO_SLOT and CODE_TO_SLOT[code] not in self.truth:
                self.forced[CODE_TO_SLOT[code]] = YES
                if code == "active_herpes" and "herpes_history" not in self.truth:
                    self.forced["herpes_history"] = YES
            elif code in FURTHER_CHECKS:
                self.forced_checks.add(code)

    def pick(self, question: str, pool: Sequence[Entry]) -> Entry:
        fitting = [e for e in pool if all(self.consistent(c, question) for c in e.also)]
        entry = _weighted(self.rng, fitting or [e for e in pool if not e.also] or list(pool))
        self.apply(entry)
        return entry


def draw_profile(seed: int, corpus: Optional[Corpus] = None, rng: Optional[random.Random] = None) -> Profile:
    corpus = corpus or corpus_module.default()
    rng = rng or random.Random(seed)
    d = _Drawer(rng, corpus)

    # consent: mostly yes; some no; some ask why first, or hesitate first
    r = rng.random()
    consent, first = YES, []
    if r < 0.08:
        consent = NO
    elif r < 0.15:
        whys = corpus.where("consent", means="why") + corpus.entries("why")
        first = [rng.choice(whys)]
    elif r < 0.19:
        first = [rng.choice(corpus.where("consent", means=UNSURE))]
    consent_answer = rng.choice(corpus.where("consent", means=consent))

    # name (often one that is also an ordinary word) and contact
    names = corpus.entries("names_that_are_words") if rng.random() < 0.4 else corpus.entries("name")
    name_entry = rng.choice(names)
    valid = [e for e in corpus.entries("contact") if not e.get("invalid")]
    contact_entry = rng.choice(valid)
    invalid = [e for e in corpus.entries("contact") if e.get("invalid")]
    invalid_contact = rng.choice(invalid) if invalid and rng.random() < 0.1 else None

    concerns_pool = corpus.entries("concerns") + [
        e for e in corpus.entries("not_urgent") if e.get("question") == "concerns"
    ]
    concerns_entry = rng.choice(concerns_pool)
    concerns = list(concerns_entry.get("concerns") or concerns_entry.get("means") or [])
    area_pool = corpus.entries("area") + [e for e in corpus.entries("not_urgent") if e.get("question") == "area"]
    area_entry = rng.choice(area_pool)
    area = str(area_entry.get("area") or area_entry.get("means"))

    # medicines, and what they make true
    groups: Dict[str, List[Entry]] = {}
    for entry in corpus.entries("medications"):
        group = _medication_group(entry)
        if group is not None:
            groups.setdefault(group, []).append(entry)
    shares = [(g, w) for g, w in MEDICATION_GROUPS if groups.get(g)]
    group = rng.choices([g for g, _ in shares], weights=[w for _, w in shares], k=1)[0]
    medications_entry = rng.choice(groups[group])
    medicines = [dict(m) for m in medications_entry.get("medicines") or []]
    if any(m["class"] in ("anticoagulant", "antiplatelet") and m.get("current", True) for m in medicines):
        d.forced["blood_thinners"] = YES
    if any(m["name"] == "isotretinoin" and m.get("current", True) for m in medicines):
        d.forced["isotretinoin"] = YES
    # medicines that are themselves a further check: immunosuppressants and chemotherapy taken now
    if any(m["class"] in ("immunosuppressant", "chemotherapy") and m.get("current", True) for m in medicines):
        d.forced_checks.add("immunosuppression")

    answers: Dict[str, Entry] = {}
    months: Optional[float] = None
    for key in YES_NO_KEYS:
        if key == "herpes_active" and d.truth.get("herpes_history") == NO:
            continue
        value = d.forced.get(key) or _yes_no_draw(rng, key)
        d.truth[key] = value
        pool = answer_pool(corpus, key, value)
        if key == "isotretinoin" and value == YES and any(m["name"] == "isotretinoin" for m in medicines):
            pool = [e for e in pool if e.get("months_ago") in (0, None)] or pool  # taking it now
        answers[key] = d.pick(key, pool)
        if key == "isotretinoin" and answers[key].get("months_ago") is not None:
            months = float(answers[key].get("months_ago"))

    # the checklist covers every further check volunteered before it
    checks_pool = corpus.entries("further_checks") + [
        e for e in corpus.entries("not_urgent") if e.get("question") == "further_checks"
    ]
    if d.forced_checks:
        covering = [e for e in checks_pool if d.forced_checks <= set(e.get("checks") or [])]
        fewest = min(len(e.get("checks") or []) for e in covering)
        checks_entry = rng.choice([e for e in covering if len(e.get("checks") or []) == fewest])
    elif rng.random() < 0.78:
        checks_entry = rng.choice([e for e in checks_pool if not (e.get("checks") or e.get("means"))])
    else:
        checks_entry = rng.choice([e for e in checks_pool if e.get("checks")])
    checks = list(checks_entry.get("checks") or [])
    d.checks = checks

    notes_pool = corpus.entries("notes") + [e for e in corpus.entries("not_urgent") if e.get("question") == "notes"]
    notes_fit = [e for e in notes_pool if all(d.consistent(c, "notes") for c in e.also)]
    notes_entry = rng.choices(notes_fit, weights=[0.3 if e.also else 1.0 for e in notes_fit], k=1)[0]

    return Profile(
        seed=seed,
        consent=consent,
        consent_first=first,
        consent_answer=consent_answer,
        name=str(name_entry.get("name")),
        name_entry=name_entry,
        contact_entry=contact_entry,
        invalid_contact=invalid_contact,
        email=contact_entry.get("email"),
        phone=contact_entry.get("phone"),
        concerns_entry=concerns_entry,
        concerns=concerns,
        area_entry=area_entry,
        area=area,
        medications_entry=medications_entry,
        medicines=medicines,
        unrecognised=[str(u) for u in medications_entry.get("unrecognised") or []],
        yes_no=dict(d.truth),
        answers=answers,
        isotretinoin_months_ago=months,
        checks=checks,
        checks_entry=checks_entry,
        notes_entry=notes_entry,
    )


def draw_plan(rng: random.Random, profile: Profile) -> Plan:
    plan = Plan()
    if profile.consent == NO:
        plan.faq_after_decline = rng.random() < 0.3
        return plan
    middle = list(ORDER[2:-1])  # contact .. notes: after the name, so a consultation exists
    r = rng.random()
    if r < 0.08:
        plan.abandon_at = rng.choice(middle)
    elif r < 0.12:
        plan.stop_at = rng.choice(middle)
    elif r < 0.14:
        plan.restart_at = rng.choice(middle[:8])
    if rng.random() < 0.06:
        plan.person_at = rng.choice(middle)
    if rng.random() < 0.04:
        plan.urgent_at = rng.choice(middle)
    leaving = plan.abandon_at or plan.stop_at or plan.restart_at
    if not leaving and rng.random() < 0.08:
        key = rng.choice([k for k in profile.yes_no if profile.yes_no[k] in (YES, NO)] or [None])
        if key is not None and key != "herpes_history":  # a wrong "no" to cold sores would skip a question
            wrong = NO if profile.yes_no[key] == YES else YES
            plan.slip = (key, wrong)
            later = [q for q in ORDER[ORDER.index(key) + 2 : -1]]
            plan.correction_at = rng.choice(later) if later and rng.random() < 0.5 else "confirmed"
    if not leaving and rng.random() < 0.05:
        plan.noop_correction = True
    return plan


# ------------------------------------------------------------------------------------------------ playing the plan


def _words(text: str) -> List[str]:
    return re.findall(r"[\w'’-]+", text.casefold())


class SimulatedClient:
    def __init__(self, seed: int, corpus: Optional[Corpus] = None):
        self.seed = seed
        self.corpus = corpus or corpus_module.default()
        self.rng = random.Random(seed)
        self.profile = draw_profile(seed, self.corpus, self.rng)
        self.plan = draw_plan(self.rng, self.profile)
        self.segments: List[Segment] = [Segment()]
        self.used: Dict[str, Set[str]] = {}
        self.attempts: Dict[str, int] = {}  # answer attempts per question in this consultation
        self.triggered: Set[str] = set()
        self.consent_step = 0
        self.slip_sent = False
        self.correction_sent = False
        self.noop_sent = False
        self.digressions = 0
        self.last: Optional[Move] = None
        self.streak: Tuple[Optional[str], int] = (None, 0)  # question re-asked after answers, times
        self.turns = 0
        self.resumes = 0
        self.finished = False
        # how it ended
        self.abandoned = self.stopped = self.restarted = self.gave_up = self.ended_by_bot = self.capped = False
        self.restart_pending = False
        self.restart_seen = False
        self.declined_faq_sent = False

    @property
    def segment(self) -> Segment:
        return self.segments[-1]

    # -- choosing sentences -------------------------------------------------------------------------------------

    def _fresh(self, key: str, candidates: Sequence[str]) -> str:
        """A sentence not yet sent for this question (a real person rephrases), else the least recent."""
        used = self.used.setdefault(key, set())
        unused = [c for c in candidates if c not in used]
        text = self.rng.choice(unused or list(candidates))
        used.add(text)
        return text

    def _rephrasings(self, question: str, value: Any) -> List[str]:
        p, c = self.profile, self.corpus
        if question == "name":
            return [f"my name is {p.name}", p.name, f"it's {p.name}"]
        if question == "contact":
            out = []
            if p.email:
                out += [p.email, f"my email is {p.email}"]
            if p.phone:
                out += [p.phone, f"my number is {p.phone}"]
            return out
        if question == "concerns":
            same = [e.text for e in c.entries("concerns") if sorted(e.get("concerns") or []) == sorted(p.concerns)]
            words = [CONCERN_WORDS[k] for k in p.concerns if k in CONCERN_WORDS]
            return same + ([" and ".join(words)] if words else [p.concerns_entry.text])
        if question == "area":
            return [e.text for e in c.entries("area") if e.get("area") == p.area] + [p.area]
        if question == "medications":
            if p.medications_entry.get("none"):
                return [e.text for e in c.entries("medications") if e.get("none")]
            names = [m["name"] for m in p.medicines if m.get("current", True)] + p.unrecognised
            stopped = [m["name"] for m in p.medicines if not m.get("current", True)]
            text = ("I take " + " and ".join(names)) if names else "nothing at the moment"
            if stopped:
                text += ", and I used to take " + " and ".join(stopped) + " but stopped"
            return [text]
        if question == "further_checks":
            same = [e.text for e in c.entries("further_checks") if sorted(e.get("checks") or []) == sorted(p.checks)]
            return same or ["; ".join(CHECK_WORDS.get(k, k) for k in p.checks)]
        if question == "notes":  # asked again: nothing more to add (a fact or a request in it was said once)
            return [e.text for e in c.entries("notes") if not e.also]
        if question in ("confirmed", "volunteer_confirm"):
            return [e.text for e in answer_pool(c, "confirm" if question == "confirmed" else question, value)]
        if question == "consent":
            return [e.text for e in c.where("consent", means=value)]
        pool = [e.text for e in answer_pool(c, question, value) if not e.also]
        return pool or [e.text for e in answer_pool(c, question, value)]

    def _first_answer(self, question: str) -> Move:
        p = self.profile
        if question == "name":
            return Move(p.name_entry.text, "answer", "", question)
        if question == "contact":
            if p.invalid_contact is not None and self.attempts.get("contact", 0) == 0:
                return Move(p.invalid_contact.text, "answer", "invalid", question)
            return Move(p.contact_entry.text, "answer", "", question)
        entry = {
            "concerns": p.concerns_entry,
            "area": p.area_entry,
            "medications": p.medications_entry,
            "further_checks": p.checks_entry,
            "notes": p.notes_entry,
        }.get(question) or p.answers.get(question)
        if entry is None:  # a question this client should not be asked ("a cold sore now?" after "never"): no
            return Move(
                self._fresh(question, self._rephrasings(question, self.truth_of(question))), "answer", "", question
            )
        return Move(entry.text, "answer", "", question)

    def truth_of(self, question: str) -> str:
        """The truth of a yes/no question; one not asked of this client is a no (no cold sore now if never)."""
        return self.profile.yes_no.get(question, NO)

    def _answer(self, question: str) -> Move:
        n = self.attempts.get(question, 0)
        plan = self.plan
        if plan.slip and plan.slip[0] == question and not self.correction_sent:
            wrong = plan.slip[1]
            text = self._fresh(question + ":slip", self._rephrasings(question, wrong))
            return Move(text, "answer", "slip", question)
        if question == "contact" and n == 1 and self.profile.invalid_contact is not None:
            return Move(self.profile.contact_entry.text, "answer", "", question)
        if n == 0:
            move = self._first_answer(question)
            self.used.setdefault(question, set()).add(move.text)
            return move
        value = self.truth_of(question) if question in YES_NO_KEYS else None
        return Move(self._fresh(question, self._rephrasings(question, value)), "answer", "again", question)

    def readback_truth(self, entry: Dict[str, Any]) -> str:
        """Is the fact the assistant reads back true of this client? yes / no / unsure."""
        code = str(entry.get("code") or "")
        if code in CODE_TO_SLOT:
            return self.profile.yes_no.get(CODE_TO_SLOT[code]) or NO
        if code in FURTHER_CHECKS:
            return YES if code in self.profile.checks else NO
        return UNSURE

    def _readback(self, slots: Dict[str, Any]) -> Move:
        pending = next((e for e in slots.get("volunteered") or [] if isinstance(e, dict) and not e.get("asked")), None)
        value = self.readback_truth(pending) if pending else UNSURE
        text = self._fresh("volunteer_confirm:" + value, self._rephrasings("volunteer_confirm", value))
        fact = f"{(pending or {}).get('code')}/{(pending or {}).get('name') or (pending or {}).get('mention') or ''}"
        return Move(text, "readback", f"{fact}={value}", "volunteer_confirm")

    def _correction(self, field: str, value: Any, question: Optional[str]) -> Move:
        pool = [e for e in self.corpus.entries("corrections") if e.get("field") == field and e.get("means") == value]
        text = (
            self._fresh("correction:" + field, [e.text for e in pool])
            if pool
            else f"actually {field} should be {value}"
        )
        return Move(text, DIGRESSION, f"correction:{field}={value}", question)

    def _digression(self, group: str, question: Optional[str], detail: str = "") -> Move:
        texts = [e.text for e in self.corpus.entries(group)]
        if group == "stop_or_restart":
            texts = [e.text for e in self.corpus.entries(group) if e.get("means") == detail]
        self.digressions += 1
        return Move(self._fresh("digression:" + group + detail, texts), DIGRESSION, detail or group, question)

    # -- the conversation ---------------------------------------------------------------------------------------

    def _due(self, planned: Optional[str], question: str, name: str) -> bool:
        if not planned or name in self.triggered or question not in ORDER:
            return False
        if ORDER.index(question) >= ORDER.index(planned):
            self.triggered.add(name)
            return True
        return False

    def next_move(self, state: Dict[str, Any]) -> Optional[Move]:
        """The next message, given the assistant's state after the last turn; None when the client is done."""
        if self.finished:
            return None
        if self.turns >= MAX_TURNS:
            self.capped = self.finished = True
            return None
        self.turns += 1
        move = self._decide(state)
        if move is None:
            self.finished = True
            self.turns -= 1
        return move

    def _decide(self, state: Dict[str, Any]) -> Optional[Move]:
        question = state.get("requested_slot")
        active = state.get("active_loop")
        slots = state.get("slots") or {}
        if self.last is None:
            return Move(self.rng.choice(OPENERS), OPEN)
        if self.stopped and not (self.last.detail == "stop" and question and question not in ORDER):
            return None  # said stop (or bye): gone, whether or not the questions ended (a "sure?" is answered)
        if not active:
            if self.restart_pending:
                self.restart_pending = False
                return Move(self.rng.choice(OPENERS), OPEN, "after restart")
            if slots.get("outcome") or self.segment.completed or self.stopped:
                return None
            if self.segment.consent_declined and not self.segment.consent_given:
                if self.plan.faq_after_decline and not self.declined_faq_sent:
                    self.declined_faq_sent = True
                    return self._digression("faq", None)
                return None
            if self.resumes < 1:  # the questions ended under the client: they try once to carry on
                self.resumes += 1
                return Move(self.rng.choice(OPENERS), RESUME, "carry on", question)
            self.ended_by_bot = True
            return None
        if not question:
            self.digressions += 1
            return Move("sorry, what was the question?", RESUME, "no question", question)
        streak_q, streak_n = self.streak
        if streak_q == question and streak_n + 1 >= GIVE_UP_AFTER:
            self.gave_up = True
            return None
        plan = self.plan
        if question == "consent":
            return self._consent(question)
        if self.profile.consent == NO:
            return None  # said no: answers nothing else, whatever is asked
        if question != "volunteer_confirm":
            if self._due(plan.abandon_at, question, "abandon"):
                self.abandoned = True
                return None
            if self._due(plan.stop_at, question, "stop"):
                self.stopped = True
                return self._digression("stop_or_restart", question, "stop")
            if self._due(plan.restart_at, question, "restart") and not self.restarted:
                self.restarted = True
                return self._digression("stop_or_restart", question, "restart")
            if self._due(plan.person_at, question, "person"):
                self.segment.person_requested = True
                return self._digression("person", question)
            if self._due(plan.urgent_at, question, "urgent"):
                return self._digression("urgent", question)
            if (
                plan.slip
                and self.slip_sent
                and not self.correction_sent
                and plan.correction_at != "confirmed"
                and self._due(plan.correction_at, question, "correction")
            ):
                return self._send_correction(question)
            last_was_digression = self.last is not None and self.last.kind == DIGRESSION
            if self.digressions < 3 and not last_was_digression and question != "confirmed":
                r = self.rng.random()
                if r < plan.faq_rate:
                    return self._digression("faq", question)
                if r < plan.faq_rate + plan.why_rate:
                    return self._digression("why", question)
        if question == "volunteer_confirm":
            return self._readback(slots)
        if question == "confirmed":
            return self._summary(question)
        if question not in ORDER:
            return self._unknown(question)
        return self._answer(question)

    def _unknown(self, question: str) -> Move:
        """A question this client does not know (e.g. "start again? sure?"): yes to what it has just asked for,
        else "not sure"."""
        asked_for = self.last is not None and (
            self.last.detail in ("stop", "restart") or self.last.question == question
        )
        if asked_for:
            text = self._fresh(f"{question}:yes", ("yes please", "yes, that's what I want", "yes, go ahead"))
            return Move(text, "answer", "unknown question=yes", question)
        text = self._fresh(f"{question}:unsure", ("sorry, I'm not sure", "I don't know, sorry"))
        return Move(text, "answer", "unknown question=unsure", question)

    def _send_correction(self, question: str) -> Move:
        self.correction_sent = True
        key = self.plan.slip[0]
        self.digressions += 1
        return self._correction(key, self.profile.yes_no[key], question)

    def _consent(self, question: str) -> Move:
        p = self.profile
        step = self.consent_step
        self.consent_step += 1
        if step < len(p.consent_first):
            entry = p.consent_first[step]
            if entry.group == "why" or entry.means == "why":
                self.digressions += 1
                return Move(entry.text, DIGRESSION, "why", question)
            return Move(entry.text, "answer", "consent=unsure", question)
        if step == len(p.consent_first):
            return Move(p.consent_answer.text, "answer", f"consent={p.consent}", question)
        return Move(
            self._fresh("consent", self._rephrasings("consent", p.consent)), "answer", f"consent={p.consent}", question
        )

    def _summary(self, question: str) -> Move:
        if self.plan.slip and self.slip_sent and not self.correction_sent:
            return self._send_correction(question)
        if self.plan.noop_correction and not self.noop_sent:
            self.noop_sent = True
            corrections = {(e.get("field"), e.means) for e in self.corpus.entries("corrections")}
            keys = [k for k, v in self.profile.yes_no.items() if k != "herpes_history" and (k, v) in corrections]
            if keys:
                key = self.rng.choice(keys)
                self.digressions += 1
                return self._correction(key, self.profile.yes_no[key], question)
        return Move(self._fresh("confirmed", self._rephrasings("confirmed", YES)), "confirm", "", question)

    # -- after each turn ----------------------------------------------------------------------------------------

    def observe(self, move: Move, state: Dict[str, Any]) -> None:
        """What the turn did: which answers the assistant now has, re-asks, restarts, the end."""
        self.last = move
        after = state.get("requested_slot")
        active = state.get("active_loop")
        slots = state.get("slots") or {}
        seg = self.segment
        q = move.question
        if move.kind in ("answer", "readback", "confirm"):
            if q is not None:
                self.attempts[q] = self.attempts.get(q, 0) + 1
            if q is not None and after == q and active:
                streak_q, streak_n = self.streak
                self.streak = (q, streak_n + 1 if streak_q == q else 1)
            else:
                self.streak = (None, 0)
            moved = not (after == q and active)
            if move.detail == "slip":
                self.slip_sent = True
                seg.excluded.append(q)
            if q == "consent" and moved:
                # the questions went on: the client (who means yes, whatever this message said) has consented;
                # they ended: a no was heard
                if self.profile.consent == YES and active and after and after != "consent":
                    seg.consent_given = True
                elif self.profile.consent == NO:
                    seg.consent_declined = True
            elif q == "volunteer_confirm" and moved:
                code = move.detail.split("=")[0].split("/")[0]
                if move.detail.endswith("=" + YES) and code in CODE_TO_SLOT:
                    seg.answered.append(CODE_TO_SLOT[code])
                if move.detail.endswith("=" + YES) and code in FURTHER_CHECKS:
                    seg.answered.append("further_checks")
            elif q == "confirmed" and (slots.get("outcome") or not active):
                seg.completed = bool(slots.get("outcome"))
            elif q is not None and moved and move.detail != "slip" and move.detail != "invalid":
                seg.answered.append(q)
            if q == "notes" and move.text == self.profile.notes_entry.text and self.profile.person_in_notes:
                seg.person_requested = True  # "could someone call me to go over all this"
        elif move.detail.startswith("correction:"):
            field_value = move.detail.split(":", 1)[1]
            key = field_value.split("=")[0]
            if self.plan.slip and key == self.plan.slip[0] and key in seg.excluded:
                seg.excluded.remove(key)
                seg.answered.append(key)
        if self.restarted and not self.restart_seen and (after == "consent" or (not active and not after)):
            # the assistant started again (straight away, or after asking whether the client is sure)
            self.restart_seen = True
            self.segments.append(Segment())
            self.attempts = {}
            self.consent_step = len(self.profile.consent_first)  # this time straight to yes
            self.restart_pending = not active
            self.streak = (None, 0)
        if after == "confirmed" and seg.reached_summary_turn is None:
            seg.reached_summary_turn = self.turns
