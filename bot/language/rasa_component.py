"""A Rasa NLU component, after SpacyEntityExtractor: gives each MEDICATION/CONDITION entity its context and canonical
name.

In config.yml, after SpacyEntityExtractor:

    - name: bot.language.rasa_component.ClinicalContext

Each entity gets `role` negated | other_person | past | current, `value` the canonical name ("Eliquis (apixaban)"),
and for medicines `group` the drug class (anticoagulant, oral_retinoid, ...). Misspellings the entity ruler does not
list but the edit-distance fallback recognises ("apixibam") are added as new entities by this component.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.language import context, context_pipeline

logger = logging.getLogger(__name__)

NEGATED = "negated"
OTHER_PERSON = "other_person"
PAST = "past"
CURRENT = "current"
_LABEL = {"medication": context.MEDICATION, "condition": context.CONDITION}


def role_of(fact: context.Fact) -> str:
    """One role per entity, the one that matters most for screening first."""
    if fact.negated:
        return NEGATED
    if fact.other_person:
        return OTHER_PERSON
    return CURRENT if fact.current else PAST


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ClinicalContext(GraphComponent, EntityExtractorMixin):
    """Sets role (negated / other_person / past / current), canonical value and drug class on clinic entities."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"labels": [context.MEDICATION, context.CONDITION], "add_misspelt": True}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ClinicalContext:
        # load (or build) the pipeline now, not on the first client's message
        context_pipeline.pipeline()
        return cls(config)

    @staticmethod
    def required_packages() -> List[str]:
        return ["spacy", "medspacy"]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text: Optional[str] = message.get(TEXT)
            if not text:
                continue
            entities = self.annotate(text, list(message.get(ENTITIES, [])))
            message.set(ENTITIES, entities, add_to_output=True)
        return messages

    def annotate(self, text: str, entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        labels = set(self._config["labels"])
        facts = [f for f in context.analyse(text) if f.kind in _LABEL and _LABEL[f.kind] in labels]
        by_span: Dict[Tuple[Optional[int], Optional[int]], context.Fact] = {(f.start, f.end): f for f in facts}
        used = set()
        out: List[Dict[str, Any]] = []
        for entity in entities:
            fact = by_span.get((entity.get("start"), entity.get("end")))
            if entity.get("entity") in labels and fact is not None:
                entity = {**entity, "value": fact.canonical, "role": role_of(fact)}
                if fact.drug_class:
                    entity["group"] = fact.drug_class
                entity = self.add_processor_name(entity)
                used.add((fact.start, fact.end))
            out.append(entity)
        if self._config["add_misspelt"]:
            for fact in facts:
                if (fact.start, fact.end) in used or not fact.fuzzy:
                    continue
                entity = {
                    "entity": _LABEL[fact.kind],
                    "start": fact.start,
                    "end": fact.end,
                    "value": fact.canonical,
                    "role": role_of(fact),
                    "confidence": None,
                    "extractor": self.name,
                }
                if fact.drug_class:
                    entity["group"] = fact.drug_class
                out.append(entity)
        return out
