"""The Rasa component, run on Messages as Rasa's own SpacyNLP and SpacyEntityExtractor leave them."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
import rasa  # noqa: F401  (the component is a Rasa component: Rasa must be there)
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor  # noqa: E402
from rasa.nlu.utils.spacy_utils import SpacyNLP  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from bot.language import pipeline  # noqa: E402
from bot.language.rasa_component import ClinicalContext  # noqa: E402


@pytest.fixture(scope="module")
def rasa_nlu(tmp_path_factory: pytest.TempPathFactory):
    model_dir = tmp_path_factory.mktemp("rasa-spacy") / "spacy-clinic"
    pipeline.build(out_dir=model_dir)
    model = SpacyNLP.load_model(str(model_dir))
    spacy_nlp = SpacyNLP(model, {**SpacyNLP.get_default_config(), "model": str(model_dir)})
    extractor = SpacyEntityExtractor({"dimensions": ["MEDICATION", "CONDITION"]})
    component = ClinicalContext({})

    def parse(*texts: str) -> List[List[Dict[str, Any]]]:
        messages = [Message(data={"text": t}) for t in texts]
        spacy_nlp.process(messages, model)
        extractor.process(messages, model)
        component.process(messages)
        return [m.get("entities") for m in messages]

    return parse


def _brief(entities: List[Dict[str, Any]]) -> List[tuple]:
    return [(e["entity"], e["value"], e.get("role"), e.get("group")) for e in entities]


def test_roles_values_and_groups(rasa_nlu) -> None:
    results = rasa_nlu(
        "no, but I take Eliquis for my heart",
        "My mum gets cold sores",
        "I stopped Roaccutane 2 years ago",
        "I don't take blood thinners",
        "I have a cold sore right now",
    )
    assert [_brief(r) for r in results] == [
        [("MEDICATION", "Eliquis (apixaban)", "current", "anticoagulant")],
        [("CONDITION", "cold sores", "other_person", None)],
        [("MEDICATION", "Roaccutane (isotretinoin)", "past", "oral_retinoid")],
        [("MEDICATION", "blood thinner", "negated", "anticoagulant")],
        [("CONDITION", "cold sores", "current", None)],
    ]
    first = results[0][0]
    assert (first["start"], first["end"]) == (15, 22)
    assert first["extractor"] == "SpacyEntityExtractor" and first["processors"] == ["ClinicalContext"]


def test_misspelling_the_ruler_missed_is_added(rasa_nlu) -> None:
    [entities] = rasa_nlu("I take rivaroxabn daily")
    assert _brief(entities) == [("MEDICATION", "rivaroxaban", "current", "anticoagulant")]
    assert entities[0]["extractor"] == "ClinicalContext"


def test_other_entities_pass_through_untouched() -> None:
    component = ClinicalContext({})
    other = {"entity": "email", "value": "a@b.c", "start": 0, "end": 5, "extractor": "RegexEntityExtractor"}
    message = Message(data={"text": "a@b.c", "entities": [other]})
    component.process([message])
    assert message.get("entities") == [other]
