"""Validation of the consultation form: parse each answer, re-ask kindly, keep what was said in the database."""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.finish import finish_consultation
from actions.tracker_answers import (
    CODE_TO_SLOT,
    SLOT_TO_CODE,
    answer_changes,
    is_button,
    latest_entities,
    latest_intent,
    latest_text,
    read_yes_no,
    correction_values,
    window_months,
)
from bot import intake, language, store
from bot.screening.answers import CONCERNS, FURTHER_CHECKS, NO, UNSURE, YES

logger = logging.getLogger(__name__)

# Mentions in these answers are the answer itself, not something volunteered out of place.
_ANSWERED_BY = {"medications": {"anticoagulant", "isotretinoin_recent"}, "further_checks": set(FURTHER_CHECKS)}


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
        known.append({"code": code, "mention": fact.get("mention"), "name": fact.get("name"),
                      "confirmed": None, "asked": False})
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
            f for f in facts
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


class ValidateConsultationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_consultation_form"

    # -- which questions, in which order ------------------------------------------------------------------------

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[str]:
        if tracker.get_slot("consent") is False:
            return []
        slots = [s for s in domain_slots if s != "volunteer_confirm"]
        if tracker.get_slot("herpes_history") == NO and "herpes_active" in slots:
            slots.remove("herpes_active")
        if any(isinstance(e, dict) and not e.get("asked") for e in tracker.get_slot("volunteered") or []):
            # read a volunteered fact back before the next question
            missing = next((s for s in slots if tracker.get_slot(s) is None), None)
            slots.insert(slots.index(missing) if missing in slots else len(slots), "volunteer_confirm")
        return slots

    # -- every turn: volunteered facts in, answers saved --------------------------------------------------------

    def _volunteered_now(self, tracker: Tracker) -> Optional[list]:
        """Facts the latest message volunteers (only once consent is given), merged with those known."""
        text = latest_text(tracker)
        requested = tracker.get_slot("requested_slot")
        if tracker.get_slot("consent") is not True or not text or is_button(tracker) or requested == "volunteer_confirm":
            return None
        if requested == "confirmed" and language.field_of(text):
            return None  # a correction at the summary: the corrected answer says it
        answer = read_yes_no(tracker) if requested in SLOT_TO_CODE else None
        return _note_volunteered(tracker, text, requested, answer)

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
        events.append(SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None)))
        return events

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        if (tracker.active_loop or {}).get("name") != self.form_name():
            return await self._start(dispatcher, tracker, domain)
        text = latest_text(tracker)
        requested = tracker.get_slot("requested_slot")
        if text and not is_button(tracker) and requested and language.detect_language_hint(text):
            # never take a message in another language as an answer: say so, and ask the same question again
            dispatcher.utter_message(response="utter_not_english")
            return [SlotSet(requested, None), SlotSet("requested_slot", requested)]
        volunteered = self._volunteered_now(tracker)
        if volunteered is not None:
            tracker.slots["volunteered"] = volunteered  # seen by the validators and by required_slots
        events = await super().run(dispatcher, tracker, domain)
        if volunteered is not None and not any(
            e.get("event") == "slot" and e.get("name") == "volunteered" for e in events
        ):
            events.insert(0, SlotSet("volunteered", volunteered))
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
        return events

    # -- consent and contact ------------------------------------------------------------------------------------

    def validate_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        answer = read_yes_no(tracker)
        if answer == YES:
            return {"consent": True, "reask_slot": None}
        if answer == NO or tracker.get_slot("reask_slot") == "consent":
            dispatcher.utter_message(response="utter_consent_declined")
            return {"consent": False, "reask_slot": None}  # no questions are left: the form ends here
        dispatcher.utter_message(response="utter_consent_unclear")
        return {"consent": None, "reask_slot": "consent"}

    def validate_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        name = intake.parse_name(str(value or ""))
        if name:
            return {"name": name, "reask_slot": None}
        text = str(value or "")
        if (
            tracker.get_slot("reask_slot") == "name"
            and intake.has_words(text)
            and not is_button(tracker)
            and intake.parse_contact(text) is None  # an email or a phone number is not a name
            and not any(ch in text for ch in "<>{}")
        ):
            return {"name": intake.clean_free_text(text, intake.MAX_NAME), "reask_slot": None}
        dispatcher.utter_message(response="utter_invalid_name")
        return {"name": None, "reask_slot": "name"}

    def validate_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        contact = intake.parse_contact(str(value or ""))
        if contact is None:
            dispatcher.utter_message(response="utter_invalid_contact")
            return {"contact": None}
        return {"contact": contact.display, "contact_email": contact.email, "contact_phone": contact.phone}

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
        return {slot: None, "picked": picked}

    def validate_concerns(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        step = self._pick("concerns", CONCERNS, "concern", value, dispatcher, tracker)
        if step is not None:
            return step
        picked = [c for c in tracker.get_slot("picked") or [] if c in CONCERNS]
        intent = latest_intent(tracker)
        if picked and (is_button(tracker) or intent in ("affirm", "deny")):
            return {"concerns": picked, "picked": None, "reask_slot": None}
        text = str(value or "")
        codes = [c for c in language.read_concerns(text) if c in CONCERNS] if intake.has_words(text) else []
        if not codes and tracker.get_slot("reask_slot") == "concerns" and intake.has_words(text):
            codes = ["other"]
        if not codes:
            dispatcher.utter_message(response="utter_reask_pick")
            return {"concerns": None, "reask_slot": "concerns"}
        merged = picked + [c for c in codes if c not in picked]
        result: Dict[str, Any] = {"concerns": merged, "picked": None, "reask_slot": None}
        if "other" in codes:
            result["concerns_other"] = intake.clean_free_text(text, 300)
        return result

    def validate_area(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = str(value or "")
        if is_button(tracker) or not intake.has_words(text):
            dispatcher.utter_message(response="utter_invalid_area")
            return {"area": None}
        return {"area": intake.clean_free_text(text, 200)}

    def validate_medications(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = str(value or "")
        if latest_intent(tracker) == "deny" and is_button(tracker):
            text = "none"
        if not intake.has_words(text):
            dispatcher.utter_message(response="utter_invalid_medications")
            return {"medications": None}
        reading = language.read_medications(text)
        facts = [f.to_answer() for f in reading.facts if not f.negated and not f.other_person]
        if reading.none_stated and not facts and not reading.unrecognised:
            return {"medications": "none", "medication_facts": [], "unrecognised_medications": []}
        return {
            "medications": intake.clean_free_text(text, 1000),
            "medication_facts": facts,
            "unrecognised_medications": list(reading.unrecognised),
        }

    # -- yes / no questions -------------------------------------------------------------------------------------

    def _yes_no(self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[str, Any]:
        answer = read_yes_no(tracker)
        if answer is None:
            if tracker.get_slot("reask_slot") == slot:
                dispatcher.utter_message(response="utter_noted_unsure")
                return {slot: UNSURE, "reask_slot": None}
            dispatcher.utter_message(response="utter_reask_yes_no")
            return {slot: None, "reask_slot": slot}
        result: Dict[str, Any] = {slot: answer, "reask_slot": None}
        if answer == NO:
            check = _contradiction(tracker, slot)
            if check is not None:
                known = [e for e in tracker.get_slot("volunteered") or [] if e.get("code") != check["code"]]
                result["volunteered"] = known + [check]
        return result

    def validate_blood_thinners(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("blood_thinners", dispatcher, tracker)

    def validate_bleeding_disorder(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("bleeding_disorder", dispatcher, tracker)

    def validate_herpes_history(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("herpes_history", dispatcher, tracker)

    def validate_herpes_active(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("herpes_active", dispatcher, tracker)

    def validate_keloid(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("keloid", dispatcher, tracker)

    def validate_active_acne(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("active_acne", dispatcher, tracker)

    def validate_pregnancy(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("pregnancy", dispatcher, tracker)

    def validate_skin_infection(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        return self._yes_no("skin_infection", dispatcher, tracker)

    def validate_isotretinoin(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        result = self._yes_no("isotretinoin", dispatcher, tracker)
        if result.get("isotretinoin") == YES and not is_button(tracker):
            months = language.months_ago(latest_text(tracker))
            if months is not None:
                result["isotretinoin_months_ago"] = months
                if months > window_months(tracker):
                    # "yes, but I stopped two years ago": outside the window the question asked about
                    result["isotretinoin"] = NO
        return result

    # -- the checklist, notes, read-backs and the summary ------------------------------------------------------

    def validate_further_checks(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        step = self._pick("further_checks", FURTHER_CHECKS, "check", value, dispatcher, tracker)
        if step is not None:
            return step
        picked = [c for c in tracker.get_slot("picked") or [] if c in FURTHER_CHECKS]
        intent = latest_intent(tracker)
        text = latest_text(tracker)
        found = [] if is_button(tracker) else [c for c in language.read_further_checks(text) if c in FURTHER_CHECKS]
        answer = read_yes_no(tracker) if not found else None
        if found:
            chosen = picked + [c for c in found if c not in picked]
        elif answer == NO or (picked and answer == YES):
            chosen = picked
        elif answer == UNSURE or tracker.get_slot("reask_slot") == "further_checks":
            chosen = picked + [UNSURE]
            if answer != UNSURE:
                dispatcher.utter_message(response="utter_noted_unsure")
        else:
            if intent == "affirm":
                dispatcher.utter_message(text="Which of them apply? Pick them from the list, or tell me in a few words.")
            else:
                dispatcher.utter_message(response="utter_reask_pick")
            return {"further_checks": None, "reask_slot": "further_checks"}
        return {"further_checks": chosen, "picked": None, "reask_slot": None}

    def validate_notes(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        text = str(value or "")
        if read_yes_no(tracker) == NO or not intake.has_words(text):
            return {"notes": "none"}
        return {"notes": intake.clean_free_text(text)}

    def validate_volunteer_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        answer = read_yes_no(tracker)
        entries = [dict(e) for e in tracker.get_slot("volunteered") or []]
        pending = next((e for e in entries if not e.get("asked")), None)
        if pending is None:
            return {"volunteer_confirm": None}
        if answer is None and tracker.get_slot("reask_slot") != "volunteer_confirm":
            dispatcher.utter_message(response="utter_reask_yes_no")
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

    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> Dict[str, Any]:
        intent = latest_intent(tracker)
        answer = read_yes_no(tracker)
        if not is_button(tracker):
            field = language.field_of(latest_text(tracker))
            if field:
                values, updated = correction_values(field, latest_text(tracker))
                if updated:
                    dispatcher.utter_message(response="utter_answer_updated")
                return {**values, "confirmed": None, "correction_pending": False}
        if answer == YES or intent == "affirm":
            if tracker.get_slot("outcome"):
                return {"confirmed": True, "correction_pending": False}
            # the end of the questionnaire, in this same call: judged, stored, and the client told what happens next
            finished = finish_consultation(dispatcher, tracker)
            if finished is None:
                return {"confirmed": None}
            return {"confirmed": True, "correction_pending": False, **finished}
        if answer == NO or intent == "deny":
            return {"confirmed": None, "correction_pending": True}
        dispatcher.utter_message(text="Sorry, I didn't catch that. Is everything correct, or would you like to change something?")
        return {"confirmed": None}
