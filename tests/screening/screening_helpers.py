"""Answer sets and hypothesis strategies shared by the screening tests (a uniquely named module, not a conftest)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from bot.screening.answers import FURTHER_CHECKS, NO, UNSURE, YES, YES_NO_KEYS, YES_NO_VALUES
from bot.screening.conditions import ANSWER_SHAPES, DRUG_CLASSES
from bot.settings import DATA_DIR

SHIPPED_RULES = DATA_DIR / "screening" / "rules.yml"


def all_no_answers(**overrides: Any) -> dict[str, Any]:
    """A complete consultation where every screening answer is no: the engine's quiet baseline."""
    answers: dict[str, Any] = {
        "name": "Alex Example",
        "contact_email": "alex@example.com",
        "contact_phone": None,
        "concerns": ["acne_scarring"],
        "concerns_other": None,
        "area": "cheeks",
        "medications": "none",
        "medication_facts": [],
        "unrecognised_medications": [],
        **{key: NO for key in YES_NO_KEYS},
        "isotretinoin_months_ago": None,
        "further_checks": [],
        "notes": None,
        "requested_human": False,
        "volunteered": [],
    }
    answers.update(overrides)
    return answers


def medicine(
    drug_class: str,
    name: str = "Medicine",
    generic: str | None = None,
    current: bool = True,
    months_ago: float | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "generic": generic or name.lower(),
        "drug_class": drug_class,
        "current": current,
        "months_ago": months_ago,
    }


# ---- well-formed answers ----------------------------------------------------------------------------------------

_NAMES = st.sampled_from(["Eliquis", "Warfarin", "Roaccutane", "Ibuprofen", "Fish oil", "Differin", "Methotrexate"])


def medication_entries() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "name": _NAMES,
            "generic": st.none() | _NAMES,
            "drug_class": st.sampled_from(DRUG_CLASSES),
            "current": st.booleans(),
            "months_ago": st.none() | st.floats(min_value=0, max_value=120),
        }
    )


def volunteered_entries(codes: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "code": st.sampled_from(codes),
            "mention": st.text(max_size=40),
            "confirmed": st.sampled_from([True, False, None]),
        }
    )


def further_checks() -> st.SearchStrategy[list[str]]:
    return st.just([UNSURE]) | st.lists(st.sampled_from(FURTHER_CHECKS), unique=True)


def answer_sets(codes: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Complete, well-formed answers as the form would hand them over (herpes_active may be absent)."""
    yes_no = st.sampled_from(YES_NO_VALUES)
    return st.fixed_dictionaries(
        {
            **{key: yes_no for key in YES_NO_KEYS if key != "herpes_active"},
            "medication_facts": st.lists(medication_entries(), max_size=3),
            "unrecognised_medications": st.lists(st.text(min_size=1, max_size=20), max_size=2),
            "further_checks": further_checks(),
            "requested_human": st.booleans(),
            "volunteered": st.lists(volunteered_entries(codes), max_size=3),
            "isotretinoin_months_ago": st.none() | st.floats(min_value=0, max_value=60),
        },
        optional={"herpes_active": yes_no},
    ).map(lambda drawn: all_no_answers(**drawn))


@st.composite
def risk_additions(draw: st.DrawFn, answers: dict[str, Any], codes: tuple[str, ...]) -> dict[str, Any]:
    """The same answers with one more risk factor: never fewer reasons to involve a person."""
    after = copy.deepcopy(answers)
    noes = [k for k in YES_NO_KEYS if after.get(k) in (NO, None)]
    kinds = ["further_check", "medicine", "volunteered", "requested_human", "unrecognised"]
    kinds += ["yes_no"] if noes else []
    kind = draw(st.sampled_from(kinds))
    if kind == "yes_no":
        after[draw(st.sampled_from(noes))] = draw(st.sampled_from([YES, UNSURE]))
    elif kind == "further_check":
        after["further_checks"] = [*after["further_checks"], draw(st.sampled_from([*FURTHER_CHECKS, UNSURE]))]
    elif kind == "medicine":
        after["medication_facts"] = [*after["medication_facts"], draw(medication_entries())]
    elif kind == "volunteered":
        entry = draw(volunteered_entries(codes).filter(lambda e: e["confirmed"] is not False))
        after["volunteered"] = [*after["volunteered"], entry]
    elif kind == "requested_human":
        after["requested_human"] = True
    else:
        after["unrecognised_medications"] = [*after["unrecognised_medications"], draw(st.text(min_size=1))]
    return after


# ---- junk: anything at all, including the right keys with the wrong shapes ---------------------------------------

_ENTRY_KEYS = ["name", "generic", "drug_class", "current", "months_ago", "code", "mention", "confirmed"]
_WORDS = st.sampled_from([*YES_NO_VALUES, *FURTHER_CHECKS, *DRUG_CLASSES, "YES", " Unsure ", "true", "nan", "1e999"])

junk: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | _WORDS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_ENTRY_KEYS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)

junk_answers: st.SearchStrategy[dict[Any, Any]] = st.dictionaries(
    st.sampled_from(list(ANSWER_SHAPES)) | st.text(max_size=8) | st.integers(), junk, max_size=12
)
