"""A perfect assistant for the simulator's own tests: it understands every client sentence by its corpus label.

It asks the form's questions in order, reads volunteered facts back, answers digressions and returns to the
question, takes corrections, judges with the project's engine and keeps consultations as docs/architecture.md says (one
referral per flagged consultation, abandoned ones judged on what they have). Against it the simulator must find no
violation: anything it finds is a bug in the simulator. `mistakes` makes it wrong on purpose (for the tests that
show the invariants catch a bad assistant). No Rasa, no network: the same interface as run.Assistant.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

from bot.screening import judge, load_rules
from bot.screening.answers import FURTHER_CHECKS, NO, UNSURE, YES, YES_NO_KEYS
from tests.simulator import corpus as corpus_module
from tests.simulator.client import CODE_TO_SLOT, HUMAN, OPENERS, ORDER
from tests.simulator.corpus import Corpus, Entry, normalise

FORM = "consultation_form"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?[\d(][\d\s().-]{6,}\d")
_NAME_PREFIX = re.compile(r"^(?:my name is|it's|i'm|my name's)\s+", re.IGNORECASE)


@dataclass
class _Consultation:
    id: str
    status: str = "in_progress"
    outcome: Optional[str] = None
    answers: Dict[str, Any] = field(default_factory=dict)
    reasons: List[str] = field(default_factory=list)
    referrals: int = 0


@dataclass
class _Chat:
    active: bool = False
    requested: Optional[str] = None
    consent: Optional[bool] = None
    consent_unclear: bool = False
    answers: Dict[str, Any] = field(default_factory=dict)
    pending: List[Dict[str, Any]] = field(default_factory=list)  # facts to read back
    outcome: Optional[str] = None
    intent: Optional[str] = None
    consultations: List[_Consultation] = field(default_factory=list)
    current: Optional[_Consultation] = None


class OracleAssistant:
    def __init__(self, corpus: Optional[Corpus] = None, mistakes: Set[str] = frozenset()):
        self.corpus = corpus or corpus_module.default()
        self.rules = load_rules()
        self.mistakes = set(mistakes)  # e.g. {"lose_yes", "ignore_person", "no_referral", "reask_forever"}
        self.labels: Dict[str, Entry] = {}
        for entry in self.corpus.all_entries():
            self.labels.setdefault(normalise(entry.text), entry)
        self.chats: Dict[str, _Chat] = {}
        self.lock = threading.Lock()

    # -- the interface the simulator uses -------------------------------------------------------------------

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        with self.lock:
            chat = self.chats.setdefault(sender, _Chat())
            replies: List[str] = []
            self._turn(chat, text, replies)
            return [{"recipient_id": sender, "text": r} for r in replies]

    def state(self, sender: str) -> Dict[str, Any]:
        chat = self.chats.get(sender, _Chat())
        slots = {
            "requested_slot": chat.requested if chat.active else None,
            "outcome": chat.outcome,
            "volunteered": [{"code": p["code"], "asked": False} for p in chat.pending],
        }
        return {
            "requested_slot": slots["requested_slot"],
            "active_loop": FORM if chat.active else None,
            "intent": chat.intent,
            "slots": slots,
        }

    def consultations(self, senders: List[str], expire: bool) -> Dict[str, List[Dict[str, Any]]]:
        with self.lock:
            if expire:
                for chat in self.chats.values():
                    for c in chat.consultations:
                        if c.status == "in_progress":
                            c.status = "abandoned"
                            self._judge(c)
            return {s: [self._show(c) for c in self.chats.get(s, _Chat()).consultations] for s in senders}

    # -- the store ------------------------------------------------------------------------------------------

    def _consultation(self, chat: _Chat) -> _Consultation:
        if chat.current is None:
            chat.current = _Consultation(id=uuid.uuid4().hex)
            chat.consultations.append(chat.current)
        return chat.current

    def _record(self, chat: _Chat) -> None:
        if chat.consent:
            self._consultation(chat).answers = dict(chat.answers)

    def _judge(self, c: _Consultation) -> None:
        judgement = judge(c.answers, self.rules)
        c.reasons = [f.code for f in judgement.findings if not f.is_note]
        if c.answers.get("requested_human") and HUMAN not in c.reasons:
            c.reasons.append(HUMAN)
        flagged = bool(c.reasons)
        c.outcome = judgement.outcome if judgement.outcome != "clear" or not flagged else "review"
        if c.status == "abandoned" and not flagged:
            c.outcome = None
        if flagged and c.referrals == 0 and "no_referral" not in self.mistakes:
            c.referrals = 1

    @staticmethod
    def _show(c: _Consultation) -> Dict[str, Any]:
        return {
            "referrals": c.referrals,
            "show": {
                "id": c.id,
                "status": c.status,
                "outcome": c.outcome,
                "answers": dict(c.answers),
                "reasons": [{"code": r, "rule": r, "detail": ""} for r in c.reasons],
                "referral": {"id": 1} if c.referrals else None,
            },
        }

    # -- the dialogue ---------------------------------------------------------------------------------------

    def _questions(self, chat: _Chat) -> List[str]:
        asked = [q for q in ORDER if q != "confirmed"]
        if chat.answers.get("herpes_history") == NO:
            asked.remove("herpes_active")
        return asked

    def _next(self, chat: _Chat, replies: List[str]) -> None:
        if chat.pending:
            chat.requested = "volunteer_confirm"
            replies.append(f"You mentioned {chat.pending[0]['code']}. Is that right?")
            return
        for q in self._questions(chat):
            key = "contact_email" if q == "contact" else q
            if q == "consent":
                if chat.consent is None:
                    chat.requested = q
                    replies.append("Do you consent?")
                    return
                continue
            if key not in chat.answers and not (q == "contact" and "contact_phone" in chat.answers):
                chat.requested = q
                replies.append(f"Question: {q}?")
                return
        chat.requested = "confirmed"
        replies.append("Here is the summary. Is that all correct?")

    def _turn(self, chat: _Chat, text: str, replies: List[str]) -> None:
        entry = self.labels.get(normalise(text))
        group = entry.group if entry else None
        chat.intent = None
        if normalise(text) in OPENERS or text == "sorry, what was the question?":
            chat.intent = "greet"
            if not chat.active and chat.outcome is None:
                chat.active = True
                if chat.consent is False:
                    chat.consent = None
                replies.append("Hello, I'm the clinic's assistant.")
            if chat.active:
                self._next(chat, replies)
            else:
                replies.append("Your answers have already been sent.")
            return
        if group in ("faq", "why", "urgent"):
            chat.intent = group
            replies.append(f"About that ({group}): ...")
            if chat.active:
                self._next(chat, replies)
            return
        if group == "person":
            chat.intent = "request_human"
            if "ignore_person" not in self.mistakes:
                c = self._consultation(chat)
                chat.answers["requested_human"] = True
                c.answers["requested_human"] = True
                c.status = "handed_off"
                if HUMAN not in c.reasons:
                    c.reasons.append(HUMAN)
                c.referrals = max(c.referrals, 1)
            replies.append("Of course, a person will be in touch.")
            if chat.active:
                self._next(chat, replies)
            return
        if group == "stop_or_restart":
            if entry.means == "restart":
                if chat.current is not None and chat.current.status == "in_progress":
                    chat.current.status = "abandoned"
                    self._judge(chat.current)
                chat.current = None
                chat.active, chat.consent, chat.answers, chat.pending, chat.outcome = False, None, {}, [], None
                replies.append("Okay, let's start again.")
            else:
                chat.active = False
                replies.append("No problem, we'll stop here.")
            return
        if group == "corrections":
            self._correct(chat, entry, text, replies)
            if chat.active:
                self._next(chat, replies)
            return
        if not chat.active:
            replies.append("Would you like to start the questions?")
            return
        self._answer(chat, chat.requested, entry, text, replies)

    def _correct(self, chat: _Chat, entry: Optional[Entry], text: str, replies: List[str]) -> None:
        chat.intent = "correct_answer"
        field_name = entry.get("field") if entry else None
        if field_name in YES_NO_KEYS:
            chat.answers[field_name] = entry.means
            if field_name == "herpes_history":
                chat.answers.pop("herpes_active", None)
        elif (email := _EMAIL.search(text)) is not None:
            chat.answers["contact_email"] = email.group(0).lower()
        replies.append("Thanks, I've updated that.")
        self._record(chat)

    def _volunteer(self, chat: _Chat, entry: Entry, question: str) -> None:
        for code in entry.also:
            slot = CODE_TO_SLOT.get(code)
            if slot and chat.answers.get(slot) == YES:
                continue
            if code == HUMAN:
                continue
            if code in FURTHER_CHECKS and question == "further_checks":
                continue
            chat.pending.append({"code": code})

    def _answer(self, chat: _Chat, q: Optional[str], entry: Optional[Entry], text: str, replies: List[str]) -> None:
        chat.intent = "inform"
        if "reask_forever" in self.mistakes and q == "keloid":
            replies.append("Sorry, could you answer with yes, no or not sure?")
            self._next(chat, replies)
            return
        if q == "consent":
            means = entry.means if entry else None
            if means == YES:
                chat.consent = True
            elif means == NO or chat.consent_unclear:
                chat.consent, chat.active = False, False
                replies.append("That's fine: no health information is stored.")
                return
            else:
                chat.consent_unclear = True
                replies.append("I can only go on with a clear yes.")
        elif q == "name":
            chat.answers["name"] = entry.get("name") if entry and entry.get("name") else _NAME_PREFIX.sub("", text)
        elif q == "contact":
            if entry is not None and entry.get("invalid"):
                replies.append("That doesn't look like an email or phone number.")
            else:
                email = entry.get("email") if entry else (_EMAIL.search(text).group(0) if _EMAIL.search(text) else None)
                phone = entry.get("phone") if entry else (_PHONE.search(text).group(0) if _PHONE.search(text) else None)
                chat.answers.update({k: v for k, v in (("contact_email", email), ("contact_phone", phone)) if v})
        elif q == "concerns":
            chat.answers["concerns"] = list((entry.get("concerns") or entry.get("means") or []) if entry else ["other"])
        elif q == "area":
            chat.answers["area"] = str((entry.get("area") or entry.get("means")) if entry else text)
        elif q == "medications":
            medicines = (entry.get("medicines") or []) if entry else []
            chat.answers["medications"] = "none" if entry and entry.get("none") else text
            chat.answers["medication_facts"] = [
                {
                    "name": m["name"],
                    "generic": m["name"],
                    "drug_class": m["class"],
                    "current": m.get("current", True),
                    "months_ago": 0.0 if m.get("current", True) else None,
                }
                for m in medicines
            ]
            chat.answers["unrecognised_medications"] = list((entry.get("unrecognised") or []) if entry else [])
        elif q in YES_NO_KEYS:
            value = entry.means if entry and entry.means in (YES, NO, UNSURE) else UNSURE
            if "lose_yes" in self.mistakes and value == YES:
                value = NO
            chat.answers[q] = value
            if q == "isotretinoin" and entry is not None and entry.get("months_ago") is not None:
                chat.answers["isotretinoin_months_ago"] = float(entry.get("months_ago"))
            if entry is not None:
                self._volunteer(chat, entry, q)
        elif q == "further_checks":
            chat.answers["further_checks"] = list((entry.get("checks") or entry.get("means") or []) if entry else [])
            if entry is not None:
                self._volunteer(chat, entry, q)
        elif q == "notes":
            chat.answers["notes"] = text
            if entry is not None:
                self._volunteer(chat, entry, q)
                if HUMAN in entry.also:
                    self._turn(chat, next(e.text for e in self.corpus.entries("person")), [])
        elif q == "volunteer_confirm":
            fact = chat.pending.pop(0)
            slot = CODE_TO_SLOT.get(fact["code"])
            means = entry.means if entry else UNSURE
            if slot and means == YES:
                chat.answers[slot] = YES
            elif slot and means == UNSURE and chat.answers.get(slot) == NO:
                chat.answers[slot] = UNSURE
            # a further check read back: the checklist, asked later, says it
        elif q == "confirmed" and entry is not None and entry.means == YES:
            self._record(chat)
            c = self._consultation(chat)
            c.status = "handed_off" if c.answers.get("requested_human") else "complete"
            self._judge(c)
            chat.outcome, chat.active, chat.requested = c.outcome or "clear", False, None
            replies.append("Thank you, I've sent your answers.")
            return
        self._record(chat)
        self._next(chat, replies)
