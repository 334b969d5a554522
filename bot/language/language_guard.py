"""A Rasa NLU component, last in the pipeline, for two mistakes the intent classifier makes on chat messages.

- A message clearly not in English becomes `nlu_fallback`: the classifier only knows English, and "¿Qué es el
  microneedling? ... precio" can look like a question about prices. As a fallback it is answered with the clinic's
  contacts (action_default_fallback), and inside the questionnaire it is never taken as an answer.
- A statement is not a question about the treatment: "yes, I take clopidogrel every day" once came out as
  `faq_downtime`, which made the form ask its question again instead of taking the answer. A FAQ intent on a message
  that opens with yes or no and asks nothing is taken as that yes or no (affirm / deny); so is `stop` on such a
  message without a word that asks to stop ("no, I stopped it last year").
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import is_not_english

# an answer to a yes/no question, not a question: "yes, I take clopidogrel every day", "no but I bruise easily"
_ANSWER_FIRST = re.compile(r"^\s*(?:yes|yeah|yep|yup|yea|no|nope|nah|not really)\b(?!.*\?)", re.IGNORECASE)
# ... and "no, I stopped it last year" is an answer, not a request to stop the questions ("no, stop" still is)
_STOP_WORD = re.compile(r"\b(?:stop|quit|cancel|exit|leave|end|enough|bye|goodbye)\b", re.IGNORECASE)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageGuard(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageGuard:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            if is_not_english(text):
                fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.data[INTENT] = fallback
                message.data.setdefault(INTENT_RANKING_KEY, [])
                message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
                continue
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""
            answer_first = _ANSWER_FIRST.search(text)
            if answer_first and (intent.startswith("faq_") or (intent == "stop" and not _STOP_WORD.search(text))):
                # the message answers the question with its first word: that is its intent
                leading = answer_first.group(0).strip().lower()
                name = "deny" if leading in ("no", "nope", "nah", "not really") else "affirm"
                confidence = (message.get(INTENT) or {}).get(PREDICTED_CONFIDENCE_KEY, 1.0)
                message.data[INTENT] = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
        return messages
