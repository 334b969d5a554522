"""How a client's message is read while a question is open: as the answer first, as a digression only when it isn't one.

The intent classifier sees a message without knowing the question, so on its own it takes names for greetings
("Grace Hope"), answers for emergencies ("it's inflamed right now") and dates for requests to stop ("stopped it in
March"). Here the open question's own reader decides first whether the message is a plausible answer; a digression
wins only when the message is not one, or is unmistakably that digression (an explicit request to start again, a
button). A message can be an answer and a request at once: a request for a person or a red-flag statement is honoured
beside the answer, never instead of it.

Pure functions of the message and the question (no Rasa, no database): actions/consultation_form.py adapts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Tuple

from bot import intake, language
from bot.dialogue.questions import Question
from bot.language.consent import WHY, read_consent
from bot.screening.answers import NO, YES

if TYPE_CHECKING:
    from bot.language.digressions import RedFlag

FAQ_INTENTS = frozenset(
    {
        "faq_what_is",
        "faq_treats",
        "faq_pain",
        "faq_downtime",
        "faq_sessions",
        "faq_results",
        "faq_aftercare",
        "faq_contraindications",
        "faq_risks",
        "faq_cost_booking",
    }
)
# What a button can ask for instead of answering (the buttons of the questions themselves are answers).
BUTTON_DIGRESSIONS = frozenset({"ask_why", "request_human", "correct_answer", "start_over", "stop", *FAQ_INTENTS})

# How sure the classifier must be before a message that is not an answer is taken for a question about the treatment.
FAQ_CONFIDENCE = 0.45
OTHER_CONFIDENCE = 0.6

_OPENS_LIKE_QUESTION = re.compile(
    r"^\s*(?:how|what|whats|what's|when|where|which|who|whom|whose|why|can|could|do|does|did|is|are|will|would|should|"
    r"shall|may|might|am|have|has|tell me|i wonder|wondering|any idea)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Heard:
    """The latest client message, as the NLU pipeline saw it."""

    text: str
    intent: Optional[str] = None
    confidence: float = 0.0

    @property
    def button(self) -> bool:
        return self.text.startswith("/")


@dataclass(frozen=True)
class Reading:
    """What to do with a message while a question is open.

    `digression` None: read it as the answer (the question's validator parses it; a miss counts toward the two-miss
    rule). Otherwise what the client asked for instead: an intent name (an FAQ, "ask_why", "greet", ...) or
    "not_english" / "restart_confirm". `person` and `red_flags` are honoured in both cases."""

    digression: Optional[str] = None
    person: bool = False
    red_flags: Tuple[RedFlag, ...] = field(default_factory=tuple)

    @property
    def is_answer(self) -> bool:
        return self.digression is None


def is_question(text: str) -> bool:
    try:
        return bool(language.is_question(text))
    except AttributeError:  # the detector module is optional for this check: fall back to the shape of the text
        return "?" in text or bool(_OPENS_LIKE_QUESTION.match(text))


def plausible_answer(question: Question, text: str) -> bool:
    """True when the message can be read as an answer to this question by its own reader."""
    text = intake.strip_markup(text)
    if not intake.has_words(text):
        return False
    kind = question.reader
    if kind == "consent":
        return read_consent(text) in (YES, NO)
    if kind == "restart":
        return True  # anything but a clear yes carries on with the questions
    if kind == "name":
        return intake.parse_name(text) is not None
    if kind == "contact":
        return intake.parse_contact(text) is not None
    if kind in ("yes_no", "read_back"):
        if _asks_instead(text):
            return False  # "is there a risk of infection?" names the condition, but asks; it does not answer
        return language.yes_no(text, key=question.key if kind == "yes_no" else None) is not None
    if kind == "checklist":
        return bool(language.read_further_checks(text)) or language.yes_no(text) is not None
    if kind == "confirm":
        return language.yes_no(text) is not None or language.field_of(text) is not None
    if kind == "medications":
        reading = language.read_medications(text)
        if reading.facts or reading.none_stated or language.yes_no(text) == NO:
            return True  # a medicine named, or "none" ("none, but ..." included)
        # words that name no known medicine: an answer unless it asks something or raises an emergency instead
        # (the unrecognised-word reader is cautious: in "my face is swollen and hot" it reports "swollen")
        return not is_question(text) and not language.red_flags(text)
    if kind == "concerns":
        codes = language.read_concerns(text)
        return bool(codes) and (codes != ["other"] or not is_question(text))
    # free text (area, notes): anything that is not a question
    return not is_question(text)


_OPENS_WITH_ANSWER = re.compile(
    r"^\s*(?:yes|yeah|yep|yup|yea|ya|aye|no|nope|nah|not|never|none|i think|i don'?t|i do|i have|i am|i'?m|i was|"
    r"i had|i get|i used|maybe|probably|possibly|perhaps|dunno|sort of|kind of|only|just|sometimes)\b",
    re.IGNORECASE,
)


def _asks_instead(text: str) -> bool:
    """A message shaped as a question ("what skincare should I use after?", "why do you ask about keloids") that does
    not open with an answer ("no, why?", "I think so?" still answer)."""
    return bool(_OPENS_LIKE_QUESTION.match(text)) and not _OPENS_WITH_ANSWER.match(text)


def _facts_named(text: str) -> bool:
    """The message names a medicine or a condition of the lexicon: it carries something a practitioner needs."""
    return bool(language.find_facts(text))


_WHY_OPENING = re.compile(r"^\s*(?:why|y|wy|whys|why's)\b(?!\s*(?:es|eah|ep|up)\b)", re.IGNORECASE)


def _asks_why(text: str) -> bool:
    """ "why do you ask?" in any shape: opening with why ("y do u need that", "why ask whether I'm pregnant"), or a
    why-question after words that are no answer ("I'm happy to answer but why does it matter?")."""
    if _WHY_OPENING.match(text) and not re.match(r"^\s*y\s*$", text, re.IGNORECASE):
        return True
    return (
        bool(language.asks_why(text))
        and ("?" in text or _asks_instead(text))
        and not re.match(r"^\s*(?:yes|yeah|yep|yup|no|nope|nah|not really)\b", text, re.IGNORECASE)
    )  # "no, why?" answers first


def read(
    question: Question,
    heard: Heard,
    *,
    restart_pending: bool = False,
    answered: Callable[[str], bool] = lambda key: True,
) -> Reading:
    """How to take `heard` while `question` is open (see the module's docstring)."""
    text = heard.text or ""
    if heard.button:
        if heard.intent in BUTTON_DIGRESSIONS:
            return Reading(digression=heard.intent, person=heard.intent == "request_human")
        return Reading()
    if restart_pending:
        return Reading(digression="restart_confirm")
    if language.is_not_english(text):
        return Reading(digression="not_english")
    clean = intake.strip_markup(text)
    flags = tuple(language.red_flags(clean))
    person = bool(language.asks_for_person(clean))
    if person and question.reader == "consent" and read_consent(clean) == NO:
        person = False  # "no, I'll phone the clinic myself" declines; the clinic's phone is in the reply
    if person and question.reader == "contact" and re.search(r"[\d@]", clean):
        person = False  # "ring me on 0800...": a contact answer (perhaps a wrong one), not a request for a person
    if question.reader == "consent" and read_consent(clean) == WHY:
        return Reading(digression="ask_why", person=person, red_flags=flags)
    if _asks_why(clean):
        return Reading(digression="ask_why", person=person, red_flags=flags)
    if language.wants_correction(clean) and question.reader not in ("confirm", "read_back", "restart"):
        field_ = language.field_of(clean)
        if field_ and field_ != question.key and answered(field_):
            # "I'm not pregnant, I pressed the wrong one" while the checklist is open: the earlier answer changes
            return Reading(digression="correct_answer", person=person, red_flags=flags)
    if language.asks_to_restart(clean):
        return Reading(digression="start_over", person=person, red_flags=flags)
    if question.free_text and language.asks_to_stop(clean) and not _facts_named(clean):
        return Reading(digression="stop", person=person, red_flags=flags)  # "stop" is not a list of medicines
    plausible = plausible_answer(question, clean)
    asking = is_question(clean)
    if plausible and not (asking and question.free_text and not _facts_named(clean)):
        return Reading(person=person, red_flags=flags)
    # Not an answer (or a free-text question's "answer" that is itself a question): which digression, if any?
    if not person and heard.intent == "request_human" and heard.confidence >= OTHER_CONFIDENCE:
        person = True  # a request the cues do not know, and the classifier is sure of, on a message that is no answer
    if person:
        return Reading(digression="request_human", person=True, red_flags=flags)
    if language.asks_why(clean):
        return Reading(digression="ask_why", red_flags=flags)
    if language.asks_to_stop(clean):
        return Reading(digression="stop", red_flags=flags)
    if language.wants_correction(clean) or (heard.intent == "correct_answer" and heard.confidence >= OTHER_CONFIDENCE):
        field_ = language.field_of(clean)
        if field_ and field_ != question.key:
            return Reading(digression="correct_answer", red_flags=flags)
    if heard.intent in FAQ_INTENTS and heard.confidence >= FAQ_CONFIDENCE and (asking or not plausible):
        return Reading(digression=heard.intent, red_flags=flags)
    if not plausible and heard.intent == "bot_challenge" and heard.confidence >= OTHER_CONFIDENCE and asking:
        return Reading(digression="bot_challenge", red_flags=flags)
    # A greeting, thanks or something out of scope while a question is open is not taken for a digression: it is a
    # miss like any other message that is not an answer, so the two-miss rule keeps the conversation moving.
    if flags and not plausible:
        return Reading(digression="urgent", red_flags=flags)
    if not plausible and _asks_instead(clean):
        return Reading(digression="other_question", red_flags=flags)  # a question we have no answer for
    if plausible:
        return Reading(person=person, red_flags=flags)
    return Reading(red_flags=flags)  # a miss: the question's validator asks again once, then moves on
