"""The lexicon covers the clinical reference, and its forms are what clients type."""

from __future__ import annotations

import pytest

import bot.language as language
from bot.language import lexicon as lex
from bot.language.pipeline import settings_paths

# every drug the clinical reference names (shared/clinical-reference.md, screening table), with its class
REFERENCE_DRUGS = {
    "anticoagulant": [
        "warfarin",
        "Coumadin",
        "Marevan",
        "apixaban",
        "Eliquis",
        "rivaroxaban",
        "Xarelto",
        "dabigatran",
        "Pradaxa",
        "edoxaban",
        "Lixiana",
        "Savaysa",
        "heparin",
        "enoxaparin",
        "Clexane",
        "Lovenox",
        "dalteparin",
        "Fragmin",
        "tinzaparin",
        "fondaparinux",
        "Arixtra",
    ],
    "antiplatelet": [
        "aspirin",
        "low-dose aspirin",
        "clopidogrel",
        "Plavix",
        "prasugrel",
        "Efient",
        "Effient",
        "ticagrelor",
        "Brilique",
        "Brilinta",
        "dipyridamole",
        "Persantin",
        "cilostazol",
    ],
    "oral_retinoid": ["isotretinoin", "Roaccutane", "Accutane", "Absorica", "Claravis", "Amnesteem", "Epuris"],
    "nsaid": ["ibuprofen", "naproxen"],
    "supplement": ["fish oil", "vitamin E"],
    "topical_retinoid": ["tretinoin", "adapalene", "glycolic acid"],
}
MISSPELLINGS = {
    "roacutane": "oral_retinoid",
    "acutane": "oral_retinoid",
    "accutaine": "oral_retinoid",
    "warfrin": "anticoagulant",
    "elliquis": "anticoagulant",
    "xeralto": "anticoagulant",
    "clopidogral": "antiplatelet",
    "asprin": "antiplatelet",
    "blood thinner": "anticoagulant",
    "blood thinners": "anticoagulant",
    "anticoagulants": "anticoagulant",
    "baby aspirin": "antiplatelet",
}


@pytest.fixture(scope="module")
def lexicon() -> lex.Lexicon:
    return lex.load(settings_paths()[0])


@pytest.mark.parametrize("cls,name", [(c, n) for c, names in REFERENCE_DRUGS.items() for n in names])
def test_every_reference_drug_is_in_the_lexicon_with_its_class(lexicon: lex.Lexicon, cls: str, name: str) -> None:
    entry = lexicon.lookup(lex.MEDICATION, name)
    assert entry is not None, name
    assert entry.drug_class == cls


@pytest.mark.parametrize("form,cls", sorted(MISSPELLINGS.items()))
def test_common_misspellings_and_phrases(lexicon: lex.Lexicon, form: str, cls: str) -> None:
    entry = lexicon.lookup(lex.MEDICATION, form)
    assert entry is not None and entry.drug_class == cls


def test_variants_cover_plurals_hyphens_and_apostrophes() -> None:
    assert "blood thinners" in lex.variants("blood thinner")
    assert {"low dose aspirin", "lowdose aspirin"} <= set(lex.variants("low-dose aspirin"))
    assert {"von willebrands", "von willebrand"} <= set(lex.variants("von willebrand's"))
    assert "blood-thinning tablets" in lex.variants("blood thinning tablets")
    assert "blood pressure tablet" in lex.variants("blood pressure tablets")


def test_reason_codes_in_the_lexicon_are_design_codes(lexicon: lex.Lexicon) -> None:
    from bot.screening.answers import FURTHER_CHECKS

    known = {
        "active_acne",
        "active_herpes",
        "isotretinoin_recent",
        "pregnancy",
        "skin_infection",
        "anticoagulant",
        "bleeding_disorder",
        "herpes_history",
        "keloid_tendency",
        *FURTHER_CHECKS,
    }
    for entry in lexicon.entries:
        for code in (entry.code_now, entry.code_past, entry.code_flare):
            assert code is None or code in known, (entry.name, code)


def test_the_pill_and_vitamins_are_known_not_unrecognised() -> None:
    reading = language.read_medications("the pill and some vitamins")
    assert reading.unrecognised == ()
    assert [f.drug_class for f in reading.facts] == ["other", "supplement"]
