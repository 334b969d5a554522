"""The consultation form's validation: every message while a question is open comes here first.

Question first (bot/dialogue/reading.py): the open question's reader decides whether the message is its answer; a
digression (a question about the treatment, "why do you ask?", a request to stop, start again or correct an answer)
is answered only when the message is not an answer. A request for a person and a red-flag statement are honoured
either way. Progress guarantee: a question is asked at most twice after answers that could not be read; after the
second miss a yes/no question is noted "not sure" (with the client's words kept), a free-text question takes the text
as written, and consent is explained once more with the clinic's phone and the offer of a person.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.finish import finish_consultation_async
from actions.tracker_answers import (
    CODE_TO_SLOT,
    SLOT_TO_CODE,
    answer_changes,
    correction_values,
    is_button,
    latest_entities,
    latest_intent,
    latest_text,
    read_yes_no,
    window_months,
)
from bot import intake, language, store
from bot.dialogue import questions
from bot.dialogue.reading import FAQ_INTENTS, Heard, Reading, is_question, read
from bot.language.consent import read_consent
from bot.screening.answers import CONCERNS, FURTHER_CHECKS, NO, UNSURE, YES

logger = logging.getLogger(__name__)

REQUESTED = "requested_slot"
# Mentions in these answers are the answer itself, not something volunteered out of place.
_ANSWERED_BY = {"medications": {"anticoagulant", "isotretinoin_recent"}, "further_checks": set(FURTHER_CHECKS)}
# Digressions a client may repeat at one question and still be answered each time (they are unmistakable).
_EXPLICIT = frozenset({"ask_why", "request_human", "stop", "start_over", "correct_answer"})
# After this many digressions at one question, the next message is read as an answer however it looks.
_MAX_DIGRESSIONS = 3
# Slots the form keeps for itself: not answers, never shown.
_BOOKKEEPING = ("reask_slot", "digressions_here", "picked", "restart_confirm")


def _note_volunteered(tracker: Tracker, text: str, requested: Optional[str], answer: Optional[str]) -> Optional[list]:
    """New volunteered facts in this message, merged into the slot; None when nothing new."""
    found = language.volunteered(text, window_months=window_months(tracker))
    if not found:
        return None
    known = list(tracker.get_slot("volunteered") or [])
    seen = {(e.get("code"), e.get("name")) for e in known}
    added = False
    for fact in found:
        code = fact.get("code")
        if code in _ANSWERED_BY.get(requested or "", set()):
            continue
        own_slot = CODE_TO_SLOT.get(code)
        if own_slot is not None and own_slot == requested and answer in (YES, None):
            continue  # "yes, Eliquis" to the blood thinner question is the answer itself
        if own_slot is not None and tracker.get_slot(own_slot) == YES:
            continue  # already answered yes: nothing to check
        if (code, fact.get("name")) in seen:
            continue
        known.append(
            {"code": code, "mention": fact.get("mention"), "name": fact.get("name"), "confirmed": None, "asked": False}
        )
        seen.add((code, fact.get("name")))
        added = True
    return known if added else None


def _contradiction(tracker: Tracker, slot: str) -> Optional[Dict[str, Any]]:
    """A "no" that the client's own medicines contradict, to be read back to them."""
    facts = tracker.get_slot("medication_facts") or []
    if slot == "blood_thinners":
        hits = [f for f in facts if f.get("drug_class") in ("anticoagulant", "antiplatelet") and f.get("current", True)]
        code = "anticoagulant"
    elif slot == "isotretinoin":
        window = window_months(tracker)
        hits = [
            f
            for f in facts
            if f.get("drug_class") == "oral_retinoid"
            and (f.get("current") or (f.get("months_ago") is not None and f["months_ago"] <= window))
        ]
        code = "isotretinoin_recent"
    else:
        return None
    if not hits:
        return None
    fact = hits[0]
    name = fact.get("name") or fact.get("generic")
    generic = fact.get("generic")
    shown = f"{name} ({generic})" if generic and generic.lower() != str(name).lower() else str(name)
    return {"code": code, "mention": f"medicines answer: {name}", "name": shown, "confirmed": None, "asked": False}


# What is said for a digression before the open question is asked again (FAQs and "why" come from their own files).
_SAID_FOR = {
    "not_english": "utter_not_english",
    "other_question": "utter_other_question",
    "greet": "utter_hello_again",
    "thanks": "utter_welcome",
    "bot_challenge": "utter_iamabot",
    "out_of_scope": "utter_out_of_scope_in_questions",
}
_SEND_IT = re.compile(
    r"\b(?:send (?:it|them|that|my answers)|submit|that'?s (?:everything|all)|all (?:correct|good|"
    r"right|fine)|"
    r"spot on|looks? (?:good|right|fine|correct))\b"
)


def _said(text: str) -> str:
    """The client's words as kept for the practitioner: markup stripped, whitespace collapsed, capped."""
    return intake.clean_free_text(intake.strip_markup(text), 500)


class ValidateConsultationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_consultation_form"

    if TYPE_CHECKING:  # rasa_sdk has no type information, and __getattr__ below would stand for these in mypy's eyes

        def form_name(self) -> str: ...
        def domain_slots(self, domain: Dict[str, Any]) -> List[str]: ...

    def __getattr__(self, attribute: str) -> Callable[..., Dict[str, Any]]:
        # every yes/no question of data/questions.yml is validated the same way
        if attribute.startswith("validate_"):
            question = questions.question(attribute[len("validate_") :])
            if question is not None and question.reader == "yes_no":
                slot = question.slot

                def validate(
                    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
                ) -> Dict[str, Any]:
                    return self._yes_no(slot, dispatcher, tracker)

                return validate
        raise AttributeError(attribute)

    # -- which questions, in which order ------------------------------------------------------------------------

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[str]:
        if tracker.get_slot("consent") is False:
            return []
        answers = tracker.slots
        slots = [
            s
            for s in domain_slots
            if s not in ("volunteer_confirm", "restart_confirm")
            and not (questions.question(s) and questions.question(s).skipped(answers))  # type: ignore[union-attr]
        ]
        missing = next((s for s in slots if tracker.get_slot(s) is None), None)
        position = slots.index(missing) if missing in slots else len(slots)
        if any(isinstance(e, dict) and not e.get("asked") for e in tracker.get_slot("volunteered") or []):
            slots.insert(position, "volunteer_confirm")  # read a volunteered fact back before the next question
        if tracker.get_slot("restart_pending"):
            slots.insert(position, "restart_confirm")  # "start again?" before anything else
        return slots

    # -- every turn ---------------------------------------------------------------------------------------------

    async def _start(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """The form starting (or starting again): nothing to validate, only the next question to choose.

        Answers given before stay as they are (a greeting is not an answer to them); a consent declined before is
        asked for again; a consultation already sent is said to be."""
        events: List[EventType] = []
        if tracker.get_slot("consent") is False:
            tracker.slots["consent"] = None
            events.append(SlotSet("consent", None))
        if tracker.get_slot("outcome"):
            dispatcher.utter_message(response="utter_outcome_already_sent")
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        events.append(SlotSet(REQUESTED, next((s for s in required if tracker.slots.get(s) is None), None)))
        return events

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        if (tracker.active_loop or {}).get("name") != self.form_name():
            return await self._start(dispatcher, tracker, domain)
        requested = tracker.get_slot(REQUESTED)
        question = questions.question(requested)
        if question is None:
            return await super().run(dispatcher, tracker, domain)
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        heard = Heard(
            text=latest_text(tracker), intent=intent.get("name"), confidence=float(intent.get("confidence") or 0.0)
        )
        reading = read(question, heard, answered=lambda key: tracker.get_slot(key) is not None)
        reading = self._repeated_digression(reading, question, tracker)

        events: List[EventType] = []
        events += self._signpost(reading, dispatcher, tracker)
        paused = False  # a live chat with a practitioner: the questions stop where they stand (bot/live/)
        if reading.person:
            from actions.person_request import pauses

            consents_now = question.reader == "consent" and read_consent(intake.strip_markup(heard.text)) == YES
            person_events = self._request_person(dispatcher, tracker, consents_now=consents_now)
            paused = pauses(person_events)
            events += person_events
        if not reading.is_answer:
            events += await self._digress(reading, question, dispatcher, tracker, domain)
        else:
            events += await self._answer(question, dispatcher, tracker, domain)
        return events + ([SlotSet(REQUESTED, None)] if paused else [])

    def _repeated_digression(self, reading: Reading, question: questions.Question, tracker: Tracker) -> Reading:
        """The same non-explicit digression twice at one question (or too many) is taken as a failed answer: the
        client is answering, and the classifier keeps mistaking it."""
        if reading.is_answer or reading.digression in _EXPLICIT:
            return reading
        if reading.digression in FAQ_INTENTS and is_question(latest_text(tracker)):
            return reading  # a real question about the treatment is answered however many there are
        here = tracker.get_slot("digressions_here") or {}
        asked_here = here.get("slot") == question.slot
        kinds = [k for k in (here.get("kinds") or []) if k not in FAQ_INTENTS] if asked_here else []
        repeated = reading.digression in (here.get("kinds") or []) if asked_here else False
        if repeated or len(kinds) >= _MAX_DIGRESSIONS:
            return Reading(person=reading.person, red_flags=reading.red_flags)
        return reading

    def _note_digression(self, kind: str, question: questions.Question, tracker: Tracker) -> SlotSet:
        here = tracker.get_slot("digressions_here") or {}
        kinds = list(here.get("kinds") or []) if here.get("slot") == question.slot else []
        return SlotSet("digressions_here", {"slot": question.slot, "kinds": kinds + [kind]})

    # -- honoured beside anything: red flags and a request for a person -----------------------------------------

    def _signpost(self, reading: Reading, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """The clinic's urgent-care signpost, once per red flag (a new red flag shows it again)."""
        shown = list(tracker.get_slot("urgent_shown") or [])
        new = [flag.id for flag in reading.red_flags if flag.id and flag.id not in shown]
        if not new:
            return []
        dispatcher.utter_message(text=str(tracker.get_slot("clinic_urgent_text") or ""))
        logger.info("red flag signposted conversation_id=%s flags=%s", tracker.sender_id, ",".join(new))
        return [SlotSet("urgent_shown", shown + new)]

    def _request_person(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, consents_now: bool = False
    ) -> List[EventType]:
        from actions.person_request import ASK_CONTACT_IN_QUESTIONS, contact_in, live_paused, open_live, person_reply

        if tracker.get_slot("requested_human"):
            if tracker.get_slot("consent") is True and not live_paused(tracker.sender_id):
                again = open_live(dispatcher, tracker, consent=True, form=self.form_name())
                if again is not None:
                    return again
            dispatcher.utter_message(response="utter_human_already_requested")
            return []
        from bot.rasa_pause import SLOT as HANDED_OFF

        consent = True if consents_now else tracker.get_slot("consent")
        try:
            done = store.flag_human_request(
                tracker.sender_id, consent=consent, contact=contact_in(latest_text(tracker))
            )
            if done is None:
                # before consent and with no way to reach them, nothing is stored: how to reach a person instead
                dispatcher.utter_message(text=person_reply(ASK_CONTACT_IN_QUESTIONS))
                return []
        except Exception:
            logger.exception("could not record the request for a person in conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_human_request_failed")
            return [SlotSet("requested_human", True)]
        tracker.slots["requested_human"] = True
        live = open_live(dispatcher, tracker, consent=consent, form=self.form_name())
        if live is not None:
            return live
        dispatcher.utter_message(response="utter_human_requested_in_questions")
        return [SlotSet("requested_human", True), SlotSet(HANDED_OFF, True)]

    # -- not an answer -------------------------------------------------------------------------------------------

    async def _digress(
        self,
        reading: Reading,
        question: questions.Question,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[EventType]:
        kind = reading.digression or ""
        slot = question.slot
        if kind == "stop":
            dispatcher.utter_message(response="utter_stopped")
            return [SlotSet(slot, None), SlotSet("digressions_here", None), SlotSet(REQUESTED, None)]
        if kind == "start_over":
            tracker.slots[slot] = None
            return [SlotSet(slot, None), SlotSet("restart_pending", True), SlotSet(REQUESTED, "restart_confirm")]
        if kind == "correct_answer":
            return await self._correct(question, dispatcher, tracker, domain)
        if kind == "ask_why":
            dispatcher.utter_message(text=questions.fill(question.why, tracker.slots))
        elif kind in FAQ_INTENTS:
            dispatcher.utter_message(response=f"utter_{kind}")
        elif kind in _SAID_FOR:
            dispatcher.utter_message(response=_SAID_FOR[kind])
        # a request for a person and a red flag were honoured already: the question stays open
        return [SlotSet(slot, None), SlotSet(REQUESTED, slot), self._note_digression(kind, question, tracker)]

    async def _correct(
        self, question: questions.Question, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """ "Actually I do get cold sores" during another question: change that answer (or ask it again), then go on."""
        text = latest_text(tracker)
        clicked = latest_entities(tracker, "field")
        field = clicked[0] if clicked else language.field_of(text)
        if not field or field not in domain.get("slots", {}) or field == question.slot:
            dispatcher.utter_message(response="utter_which_answer")
            return [SlotSet(question.slot, None), SlotSet(REQUESTED, question.slot)]
        values, updated = correction_values(field, "" if clicked else text)
        values[question.slot] = None
        if updated:
            dispatcher.utter_message(response="utter_answer_updated")
        tracker.slots.update(values)
        events: List[EventType] = [SlotSet(k, v) for k, v in values.items()]
        events += self._save(tracker, events)
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        events.append(SlotSet(REQUESTED, next((s for s in required if tracker.slots.get(s) is None), None)))
        return events

    # -- an answer -----------------------------------------------------------------------------------------------

    def _volunteered_now(self, tracker: Tracker) -> Optional[list]:
        """Facts the latest message volunteers (only once consent is given), merged with those known."""
        text = intake.strip_markup(latest_text(tracker))  # "<b>no</b> spots" denies the spots
        requested = tracker.get_slot(REQUESTED)
        if (
            tracker.get_slot("consent") is not True
            or not text
            or is_button(tracker)
            or requested in ("volunteer_confirm", "restart_confirm")
        ):
            return None
        if requested == "confirmed" and language.field_of(text):
            return None  # a correction at the summary: the corrected answer says it
        answer = read_yes_no(tracker) if requested in SLOT_TO_CODE else None
        return _note_volunteered(tracker, text, requested, answer)

    async def _answer(
        self, question: questions.Question, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        volunteered = self._volunteered_now(tracker)
        if volunteered is not None:
            tracker.slots["volunteered"] = volunteered  # seen by the validators and by required_slots
        events = await super().run(dispatcher, tracker, domain)
        if volunteered is not None and not any(
            e.get("event") == "slot" and e.get("name") == "volunteered" for e in events
        ):
            events.insert(0, SlotSet("volunteered", volunteered))
        if any(
            e.get("event") == "slot" and e.get("name") == question.slot and e.get("value") is not None for e in events
        ):
            events.append(SlotSet("digressions_here", None))
        return events + self._save(tracker, events)

    def _save(self, tracker: Tracker, events: List[EventType]) -> List[EventType]:
        """Each answer is stored as it is given (once consent is given), so a client who leaves is kept."""
        consent = tracker.get_slot("consent")
        for event in events:
            if event.get("event") == "slot" and event.get("name") == "consent":
                consent = event.get("value")
        if consent is True:
            changes = answer_changes(events)
            try:
                if changes:
                    store.record_answers(tracker.sender_id, changes)
                else:
                    store.touch(tracker.sender_id)
            except Exception:  # the answers are still in the tracker; the finish step stores them all again
                logger.exception("could not save answers for conversation %s", tracker.sender_id)
        return []

    @staticmethod
    def _second_try(slot: str, tracker: Tracker) -> bool:
        """True when this question was already asked again once after an answer that could not be read."""
        return tracker.get_slot("reask_slot") == slot

    # -- consent and contact ------------------------------------------------------------------------------------

    def validate_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        if is_button(tracker):
            answer = {"affirm": YES, "deny": NO}.get(latest_intent(tracker) or "")
        else:
            answer = read_consent(latest_text(tracker))
        if answer == YES:
            return {"consent": True, "reask_slot": None}
        if answer == NO:
            dispatcher.utter_message(response="utter_consent_declined")
            return {"consent": False, "reask_slot": None}  # no questions are left: the form ends here
        if self._second_try("consent", tracker):
            # explained once more, with the phone and a person; no health question without a clear yes
            dispatcher.utter_message(response="utter_consent_not_given")
            return {"consent": False, "reask_slot": None}
        consent = questions.by_slot()["consent"]
        if answer == UNSURE:  # a hedge gets the reasons, not a demand for a yes
            dispatcher.utter_message(text=questions.fill(consent.why, tracker.slots))
        else:
            dispatcher.utter_message(text=questions.fill(consent.reask, tracker.slots))
        return {"consent": None, "reask_slot": "consent"}

    def validate_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = latest_text(tracker)
        name = None if is_button(tracker) else intake.parse_name(text)
        if name:
            return {"name": name, "reask_slot": None}
        if self._second_try("name", tracker) and not is_button(tracker):
            written = intake.name_as_written(text)
            if written and intake.parse_contact(text) is None:  # an email or a phone number is never a name
                return {"name": written, "reask_slot": None}
        dispatcher.utter_message(text=questions.by_slot()["name"].reask)
        return {"name": None, "reask_slot": "name"}

    def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = latest_text(tracker)
        contact = None if is_button(tracker) else intake.parse_contact(text)
        if contact is not None:
            return {
                "contact": contact.display,
                "contact_email": contact.email,
                "contact_phone": contact.phone,
                "reask_slot": None,
            }
        if self._second_try("contact", tracker) and not is_button(tracker) and intake.has_words(text + "0"):
            # kept as written: the clinic sees it, and the summary lets the client change it
            dispatcher.utter_message(response="utter_contact_as_written")
            return {
                "contact": _said(text),
                "contact_email": None,
                "contact_phone": None,
                "reask_slot": None,
                "contact_as_written": _said(text),
            }
        dispatcher.utter_message(text=questions.by_slot()["contact"].reask)
        return {"contact": None, "reask_slot": "contact"}

    # -- what and where -----------------------------------------------------------------------------------------

    def _pick(
        self, slot: str, choices: tuple, entity: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Optional[Dict[str, Any]]:
        """A button pick in a multi-select: add it and ask again. None when the message wasn't a pick."""
        clicked = [v for v in latest_entities(tracker, entity) if v in choices]
        if not clicked:
            return None
        picked = list(tracker.get_slot("picked") or [])
        picked.extend(c for c in clicked if c not in picked)
        return {slot: None, "picked": picked, "reask_slot": None}

    def validate_concerns(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        step = self._pick("concerns", CONCERNS, "concern", value, dispatcher, tracker)
        if step is not None:
            return step
        picked = [c for c in tracker.get_slot("picked") or [] if c in CONCERNS]
        intent = latest_intent(tracker)
        if picked and (is_button(tracker) or intent in ("affirm", "deny") or read_yes_no(tracker) in (YES, NO)):
            return {"concerns": picked, "picked": None, "reask_slot": None}
        text = intake.strip_markup(latest_text(tracker))
        codes = [c for c in language.read_concerns(text) if c in CONCERNS] if intake.has_words(text) else []
        if not codes and self._second_try("concerns", tracker) and not is_button(tracker):
            codes = ["other"]
        if not codes:
            dispatcher.utter_message(text=questions.by_slot()["concerns"].reask)
            return {"concerns": None, "reask_slot": "concerns"}
        merged = picked + [c for c in codes if c not in picked]
        result: Dict[str, Any] = {"concerns": merged, "picked": None, "reask_slot": None}
        if "other" in codes:
            result["concerns_other"] = _said(text)
        return result

    def validate_area(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = intake.strip_markup(latest_text(tracker))
        if not is_button(tracker) and (intake.has_words(text) or self._second_try("area", tracker)):
            return {"area": intake.clean_free_text(text, 200), "reask_slot": None}
        dispatcher.utter_message(text=questions.by_slot()["area"].reask)
        return {"area": None, "reask_slot": "area"}

    def validate_medications(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = intake.strip_markup(latest_text(tracker))
        if latest_intent(tracker) == "deny" and is_button(tracker):
            text = "none"
        if not intake.has_words(text) or is_button(tracker):
            if self._second_try("medications", tracker) and not is_button(tracker):
                # not readable twice: kept as written, and a practitioner asks (an unrecognised medicine)
                return {
                    "medications": _said(text),
                    "medication_facts": [],
                    "unrecognised_medications": [_said(text)],
                    "reask_slot": None,
                }
            dispatcher.utter_message(text=questions.by_slot()["medications"].reask)
            return {"medications": None, "reask_slot": "medications"}
        reading = language.read_medications(text)
        facts = [f.to_answer() for f in reading.facts if not f.negated and not f.other_person]
        if reading.none_stated and not facts and not reading.unrecognised:
            return {"medications": "none", "medication_facts": [], "unrecognised_medications": [], "reask_slot": None}
        return {
            "medications": intake.clean_free_text(text, 1000),
            "medication_facts": facts,
            "unrecognised_medications": list(reading.unrecognised),
            "reask_slot": None,
        }

    # -- yes / no questions -------------------------------------------------------------------------------------

    def _yes_no(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        answer = read_yes_no(tracker)
        if answer is None:
            if self._second_try(slot, tracker):
                dispatcher.utter_message(response="utter_noted_unsure")
                words = dict(tracker.get_slot("answer_words") or {})
                words[slot] = _said(latest_text(tracker))
                return {slot: UNSURE, "reask_slot": None, "answer_words": words}
            dispatcher.utter_message(text=questions.by_slot()[slot].reask)
            return {slot: None, "reask_slot": slot}
        result: Dict[str, Any] = {slot: answer, "reask_slot": None}
        if answer == NO:
            check = _contradiction(tracker, slot)
            if check is not None:
                known = [e for e in tracker.get_slot("volunteered") or [] if e.get("code") != check["code"]]
                result["volunteered"] = known + [check]
        if slot == "isotretinoin" and answer in (YES, NO) and not is_button(tracker):
            months = language.months_ago(latest_text(tracker))
            if months is not None:
                result["isotretinoin_months_ago"] = months
                if answer == YES and months > window_months(tracker):
                    # "yes, but I stopped two years ago": outside the window the question asked about
                    result["isotretinoin"] = NO
        return result

    # -- the checklist, notes, read-backs, starting again and the summary -------------------------------------

    def validate_further_checks(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        step = self._pick("further_checks", FURTHER_CHECKS, "check", value, dispatcher, tracker)
        if step is not None:
            return step
        picked = [c for c in tracker.get_slot("picked") or [] if c in FURTHER_CHECKS]
        text = intake.strip_markup(latest_text(tracker))
        found = [] if is_button(tracker) else [c for c in language.read_further_checks(text) if c in FURTHER_CHECKS]
        answer = read_yes_no(tracker) if not found else None
        if found:
            chosen = picked + [c for c in found if c not in picked]
        elif answer == NO or (picked and answer == YES):
            chosen = picked
        elif answer == UNSURE or self._second_try("further_checks", tracker):
            chosen = picked + [UNSURE]
            if answer != UNSURE:
                dispatcher.utter_message(response="utter_noted_unsure")
                words = dict(tracker.get_slot("answer_words") or {})
                words["further_checks"] = _said(text)
                return {"further_checks": chosen, "picked": None, "reask_slot": None, "answer_words": words}
        else:
            if answer == YES:
                dispatcher.utter_message(response="utter_which_checks")
            else:
                dispatcher.utter_message(text=questions.by_slot()["further_checks"].reask)
            return {"further_checks": None, "reask_slot": "further_checks"}
        return {"further_checks": chosen, "picked": None, "reask_slot": None}

    def validate_notes(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = intake.strip_markup(latest_text(tracker))
        if read_yes_no(tracker) == NO or not intake.has_words(text) or is_button(tracker):
            return {"notes": "none", "reask_slot": None}
        return {"notes": intake.clean_free_text(text), "reask_slot": None}

    def validate_volunteer_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        entries = [dict(e) for e in tracker.get_slot("volunteered") or []]
        pending = next((e for e in entries if not e.get("asked")), None)
        if pending is None:
            return {"volunteer_confirm": None}
        # read at the time of the question the fact stands for: "no, that was years ago" is a no to "acne now?"
        answer = read_yes_no(tracker, key=CODE_TO_SLOT.get(pending.get("code", "")) or "volunteer_confirm")
        if answer is None and not self._second_try("volunteer_confirm", tracker):
            dispatcher.utter_message(text=questions.by_slot()["volunteer_confirm"].reask)
            return {"volunteer_confirm": None, "reask_slot": "volunteer_confirm"}
        pending["asked"] = True
        pending["confirmed"] = {YES: True, NO: False}.get(answer or UNSURE)
        result: Dict[str, Any] = {"volunteered": entries, "volunteer_confirm": None, "reask_slot": None}
        own_slot = CODE_TO_SLOT.get(pending.get("code", ""))
        if own_slot and answer == YES:
            result[own_slot] = YES
        elif own_slot and answer in (None, UNSURE) and tracker.get_slot(own_slot) == NO:
            result[own_slot] = UNSURE  # the client's "no" and their own words disagree: a person decides
        return result

    def validate_restart_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        """ "Start again?" answered: yes sets the answers aside and asks for consent again; anything else carries on."""
        if read_yes_no(tracker, key="restart_confirm") != YES:
            dispatcher.utter_message(response="utter_carry_on")
            return {"restart_confirm": None, "restart_pending": None}
        try:
            # what was answered stays, marked abandoned (and referred if flagged)
            store.abandon_current(tracker.sender_id)
        except Exception:
            logger.exception("could not close the consultation of conversation %s on restart", tracker.sender_id)
        dispatcher.utter_message(response="utter_restarted")
        cleared = {q.slot: None for q in questions.all_questions()}
        from actions.tracker_answers import ANSWER_SLOTS

        cleared.update({key: None for key in ANSWER_SLOTS})
        cleared.update({key: None for key in _BOOKKEEPING})
        cleared.update(
            {
                "contact": None,
                "outcome": None,
                "restart_pending": None,
                "correction_pending": None,
                "answer_words": None,
                "urgent_shown": None,
            }
        )
        return cleared

    async def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        intent = latest_intent(tracker)
        answer = read_yes_no(tracker, key="confirmed")
        if not is_button(tracker):
            field = language.field_of(latest_text(tracker))
            if field:  # "actually I do get cold sores" names an answer: a correction, never a confirmation
                values, updated = correction_values(field, latest_text(tracker))
                if updated:
                    dispatcher.utter_message(response="utter_answer_updated")
                return {**values, "confirmed": None, "correction_pending": False}
        if tracker.get_slot("correction_pending") and answer != YES:
            # "which answer?" not understood: once more, then back to the summary
            if self._second_try("confirmed", tracker):
                return {"confirmed": None, "correction_pending": False, "reask_slot": None}
            dispatcher.utter_message(response="utter_which_answer")
            return {"confirmed": None, "reask_slot": "confirmed"}
        if answer == UNSURE and _SEND_IT.search(latest_text(tracker).lower()):
            answer = YES  # "I think that's everything, yes, send it": the hedge is about the client, not the answers
        if answer == YES or (is_button(tracker) and intent == "affirm") or self._second_try("confirmed", tracker):
            if tracker.get_slot("outcome"):
                return {"confirmed": True, "correction_pending": False, "reask_slot": None}
            # the end of the questionnaire, in this same call: judged, stored, and the client told what happens next
            finished = await finish_consultation_async(dispatcher, tracker)
            if finished is None:
                return {"confirmed": None}
            return {"confirmed": True, "correction_pending": False, "reask_slot": None, **finished}
        if answer == NO or (is_button(tracker) and intent == "deny"):
            return {"confirmed": None, "correction_pending": True}
        dispatcher.utter_message(text=questions.by_slot()["confirmed"].reask)
        return {"confirmed": None, "reask_slot": "confirmed"}
