"""The NLU guard: other languages become a fallback; statements are not taken for questions about the treatment."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language.language_guard import LanguageGuard


def classified(text: str, *ranking: str) -> Message:
    intents = [{"name": name, "confidence": round(0.6 - i * 0.1, 2)} for i, name in enumerate(ranking)]
    return Message(data={TEXT: text, INTENT: dict(intents[0]), INTENT_RANKING_KEY: intents})


def guarded(message: Message) -> str:
    return LanguageGuard().process([message])[0].get(INTENT)["name"]


def test_another_language_becomes_a_fallback():
    assert guarded(classified("¿Qué es el microneedling? Quiero saber el precio", "faq_cost_booking")) == "nlu_fallback"


def test_a_statement_is_not_a_faq():
    assert guarded(classified("yes, I take clopidogrel every day", "faq_downtime", "affirm", "inform")) == "affirm"


def test_a_question_stays_a_faq():
    assert guarded(classified("how long is the downtime", "faq_downtime", "inform")) == "faq_downtime"
    assert guarded(classified("downtime?", "faq_downtime", "inform")) == "faq_downtime"
    assert guarded(classified("price list", "faq_cost_booking", "inform")) == "faq_cost_booking"
    assert guarded(classified("yes but does it hurt?", "faq_pain", "affirm")) == "faq_pain"


def test_button_payloads_and_other_intents_are_left_alone():
    assert guarded(classified("/faq_pain", "faq_pain", "inform")) == "faq_pain"
    assert guarded(classified("I'm having a reaction after a peel", "urgent", "inform")) == "urgent"


def test_an_answer_about_stopping_a_medicine_does_not_stop_the_questions():
    assert guarded(classified("no, I stopped it last year", "stop", "deny", "inform")) == "deny"
    assert guarded(classified("no, stop", "stop", "deny")) == "stop"
    assert guarded(classified("stop please", "stop", "deny")) == "stop"
