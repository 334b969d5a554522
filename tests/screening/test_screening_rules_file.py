"""The rules file: the shipped one is complete and well-worded; a broken one is refused with a message that says
which file, which rule and which field to fix."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bot.screening import DEFAULT_CODES, RulesError, RuleSet, load_rules
from bot.screening import answers as answers_module
from bot.screening.conditions import ANSWER_SHAPES
from tests.screening.screening_helpers import SHIPPED_RULES

SHIPPED: dict[str, Any] = yaml.safe_load(SHIPPED_RULES.read_text(encoding="utf-8"))

# ---- the shipped file ------------------------------------------------------------------------------------------


def test_shipped_rules_cover_every_design_code_with_its_outcome(rules: RuleSet) -> None:
    for code, outcome in DEFAULT_CODES.items():
        assert rules.rule(code).outcome == outcome, code


def test_design_codes_table_matches_design_md() -> None:
    assert len(DEFAULT_CODES) == 23
    assert sum(1 for o in DEFAULT_CODES.values() if o == "defer") == 8


def test_shipped_rules_name_version_approver_and_settings(rules: RuleSet) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.\d+", rules.version)
    assert "placeholder" in rules.approved_by  # until the clinic's prescriber signs off
    assert rules.settings["isotretinoin_window_months"] == 6
    assert rules.settings["recent_procedure_windows"]


def test_shipped_notes_are_clear_and_cover_nsaids_supplements_and_topical_retinoids(rules: RuleSet) -> None:
    notes = [r for r in rules.rules if r.is_note]
    note_classes = {c for r in notes for c in getattr(r.when, "classes", ())}

    assert {"nsaid", "supplement", "topical_retinoid"} <= note_classes
    assert all(r.outcome == "clear" for r in notes)


@pytest.mark.parametrize("code", [r["code"] for r in SHIPPED["rules"]])
def test_client_text_is_one_calm_sentence(code: str, rules: RuleSet) -> None:
    text = rules.rule(code).client_text

    assert text.endswith(".") and ". " not in text and "!" not in text
    assert not re.search(r"\b(un)?(safe|suitab|approv)|\bstop|\bcan't have|\brefus", text, re.IGNORECASE)
    assert rules.rule(code).title and rules.rule(code).rationale


def test_rationales_cite_sources(rules: RuleSet) -> None:
    uncited = [r.code for r in rules.rules if not re.search(r"\[\d+\]", r.rationale)]
    # These three describe the assistant's own routing, not a clinical claim.
    assert set(uncited) == {"unrecognised_medication", "unsure_answer", "client_requested_human"}


def test_answer_shapes_cover_every_key_in_answers_py() -> None:
    """The engine's key table mirrors answers.py's docstring; a key added there must be added here too."""
    documented = set(re.findall(r"^    (\w+)\s", answers_module.__doc__ or "", re.MULTILINE))
    documented |= set(answers_module.YES_NO_KEYS)

    assert set(ANSWER_SHAPES) == documented


# ---- loading -----------------------------------------------------------------------------------------------------


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_default_path_is_the_rules_file_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RULES_FILE", raising=False)
    assert load_rules().source == str(SHIPPED_RULES.resolve())

    document = copy.deepcopy(SHIPPED)
    document["rules_version"] = "test.1"
    monkeypatch.setenv("RULES_FILE", str(_write(tmp_path, document)))
    assert load_rules().version == "test.1"


def test_loading_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = _write(tmp_path, SHIPPED)
    first = load_rules(path)
    assert load_rules(path) is first

    document = copy.deepcopy(SHIPPED)
    document["rules_version"] = "2027-01-01.1"
    _write(tmp_path, document)
    assert load_rules(path).version == "2027-01-01.1"


def test_a_clinic_may_add_its_own_rule(tmp_path: Path) -> None:
    document = copy.deepcopy(SHIPPED)
    document["rules"].append(
        {
            "code": "tattoo_in_area",
            "outcome": "clear",
            "title": "Tattoo in the area",
            "client_text": "Noted.",
            "rationale": "Pigmentation risk [3][5].",
            "when": {"volunteered": "tattoo_in_area"},
        }
    )
    rules = load_rules(_write(tmp_path, document))

    assert rules.rule("tattoo_in_area").is_note


# ---- refusing a broken file ----------------------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _rule(document: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in document["rules"] if r["code"] == code)


def _set(code: str, field: str, value: Any) -> Mutation:
    return lambda d: _rule(d, code).__setitem__(field, value)


def _set_when(code: str, when: Any) -> Mutation:
    return _set(code, "when", when)


def _alternative(code: str, index: int, condition: Any) -> Mutation:
    return lambda d: _rule(d, code)["when"]["any"].__setitem__(index, condition)


BROKEN: list[tuple[str, Mutation, str | None, str]] = [
    # (id, mutation, rule code named or None for the top level, field named)
    ("unknown rule field", _set("vitiligo", "outcme", "defer"), "vitiligo", "'outcme'"),
    ("missing rationale", lambda d: _rule(d, "keloid_tendency").pop("rationale"), "keloid_tendency", "'rationale'"),
    ("missing when", lambda d: _rule(d, "under_18").pop("when"), "under_18", "'when'"),
    ("bad outcome", _set("vitiligo", "outcome", "maybe"), "vitiligo", "'outcome'"),
    ("empty title", _set("vitiligo", "title", " "), "vitiligo", "'title'"),
    (
        "verdict word in client text",
        _set("vitiligo", "client_text", "You are safe to book."),
        "vitiligo",
        "'client_text'",
    ),
    ("unknown condition type", _set_when("vitiligo", {"answr": "further_checks"}), "vitiligo", "'when'"),
    (
        "two condition types",
        _set_when("vitiligo", {"flag": "requested_human", "volunteered": "vitiligo"}),
        "vitiligo",
        "'when'",
    ),
    ("condition not a mapping", _set_when("vitiligo", "further_checks includes vitiligo"), "vitiligo", "'when'"),
    (
        "unknown answer key",
        _alternative("anticoagulant", 0, {"answer": "blood_thinner", "is": "yes"}),
        "anticoagulant",
        "'when.any[0].answer'",
    ),
    (
        "unknown value",
        _alternative("anticoagulant", 0, {"answer": "blood_thinners", "is": "maybe"}),
        "anticoagulant",
        "'when.any[0].is'",
    ),
    (
        "includes on a yes/no answer",
        _alternative("anticoagulant", 0, {"answer": "blood_thinners", "includes": "yes"}),
        "anticoagulant",
        "'when.any[0].answer'",
    ),
    (
        "unknown further check",
        _alternative("vitiligo", 0, {"answer": "further_checks", "includes": "vitilego"}),
        "vitiligo",
        "'when.any[0].includes'",
    ),
    (
        "unknown key in a condition",
        _alternative("vitiligo", 1, {"volunteered": "vitiligo", "confirmed": True}),
        "vitiligo",
        "'when.any[1].confirmed'",
    ),
    (
        "two tests on one answer",
        _alternative("anticoagulant", 0, {"answer": "blood_thinners", "is": "yes", "includes": "yes"}),
        "anticoagulant",
        "'when.any[0]'",
    ),
    (
        "missing setting",
        _alternative(
            "isotretinoin_recent",
            1,
            {"answer": "isotretinoin_months_ago", "at_most": {"setting": "isotretinoin_window"}},
        ),
        "isotretinoin_recent",
        "'when.any[1].at_most.setting'",
    ),
    (
        "non-numeric bound",
        _alternative("isotretinoin_recent", 1, {"answer": "isotretinoin_months_ago", "at_most": "six"}),
        "isotretinoin_recent",
        "'when.any[1].at_most'",
    ),
    (
        "number test on a yes/no answer",
        _alternative("isotretinoin_recent", 1, {"answer": "isotretinoin", "at_most": 6}),
        "isotretinoin_recent",
        "'when.any[1].answer'",
    ),
    (
        "unknown drug class",
        _alternative("anticoagulant", 1, {"medication_class": ["blood_thinner"], "current": True}),
        "anticoagulant",
        "'when.any[1].medication_class'",
    ),
    (
        "current false",
        _alternative("anticoagulant", 1, {"medication_class": "anticoagulant", "current": False}),
        "anticoagulant",
        "'when.any[1].current'",
    ),
    (
        "current and within_months",
        _alternative("anticoagulant", 1, {"medication_class": "anticoagulant", "current": True, "within_months": 3}),
        "anticoagulant",
        "'when.any[1]'",
    ),
    (
        "volunteered unknown code",
        _alternative("anticoagulant", 2, {"volunteered": "anticoagulants"}),
        "anticoagulant",
        "'when.any[2].volunteered'",
    ),
    (
        "flag on a yes/no answer",
        _set_when("client_requested_human", {"flag": "blood_thinners"}),
        "client_requested_human",
        "'when.flag'",
    ),
    (
        "unrecognised false",
        _set_when("unrecognised_medication", {"unrecognised_medication": False}),
        "unrecognised_medication",
        "'when.unrecognised_medication'",
    ),
    (
        "any_answer bad value",
        _set_when("unsure_answer", {"any_answer": "perhaps"}),
        "unsure_answer",
        "'when.any_answer'",
    ),
    (
        "any_answer unknown key",
        _set_when("unsure_answer", {"any_answer": "unsure", "keys": ["keloid", "kelod"]}),
        "unsure_answer",
        "'when.keys[1]'",
    ),
    ("empty any", _set_when("vitiligo", {"any": []}), "vitiligo", "'when.any'"),
    (
        "nested error",
        _alternative("vitiligo", 0, {"all": [{"volunteered": "vitiligo"}, {"answer": "x", "is": "y"}]}),
        "vitiligo",
        "'when.any[0].all[1].answer'",
    ),
    ("bad code", _set("vitiligo", "code", "Vitiligo Patches"), None, "'code'"),
    ("duplicate code", lambda d: d["rules"].append(copy.deepcopy(_rule(d, "vitiligo"))), "vitiligo", "duplicate"),
    ("missing default code", lambda d: d["rules"].remove(_rule(d, "vitiligo")), None, "vitiligo"),
    ("unknown top-level field", lambda d: d.__setitem__("rule_version", "x"), None, "'rule_version'"),
    (
        "version as a date",
        lambda d: d.__setitem__("rules_version", __import__("datetime").date(2026, 11, 26)),
        None,
        "'rules_version'",
    ),
    ("missing approver", lambda d: d.pop("approved_by"), None, "'approved_by'"),
    ("no rules", lambda d: d.__setitem__("rules", []), None, "'rules'"),
    (
        "bad window setting",
        lambda d: d["settings"].__setitem__("isotretinoin_window_months", "six"),
        None,
        "'isotretinoin_window_months'",
    ),
    (
        "bad procedure windows",
        lambda d: d["settings"].__setitem__("recent_procedure_windows", ["2 weeks"]),
        None,
        "'recent_procedure_windows'",
    ),
]


@pytest.mark.parametrize("mutate, code, field", [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_refused_naming_file_rule_and_field(
    mutate: Mutation, code: str | None, field: str, tmp_path: Path
) -> None:
    document = copy.deepcopy(SHIPPED)
    mutate(document)
    path = _write(tmp_path, document)

    with pytest.raises(RulesError) as error:
        load_rules(path)

    message = str(error.value)
    assert str(path.resolve()) in message
    assert field in message
    if code is not None:
        codes = [r.get("code") for r in document["rules"]]
        index = len(codes) - codes[::-1].index(code)  # the last rule with this code: a duplicate is named there
        assert f"rule {index} ({code})" in message


def test_the_error_for_a_rule_names_its_position_and_code(tmp_path: Path) -> None:
    document = copy.deepcopy(SHIPPED)
    _rule(document, "vitiligo")["outcome"] = "later"
    path = _write(tmp_path, document)
    index = [r["code"] for r in document["rules"]].index("vitiligo") + 1

    with pytest.raises(
        RulesError,
        match=re.escape(
            f"{path.resolve()}: rule {index} (vitiligo), field 'outcome': must be one of clear, review, defer"
        ),
    ):
        load_rules(path)


def test_a_rule_without_a_code_is_named_by_position(tmp_path: Path) -> None:
    document = copy.deepcopy(SHIPPED)
    del document["rules"][2]["code"]

    with pytest.raises(RulesError, match=r"rule 3 \(no code\), field 'code'"):
        load_rules(_write(tmp_path, document))


def test_bare_yes_in_yaml_is_read_as_yes(tmp_path: Path) -> None:
    """A clinical lead writes `is: yes` unquoted; YAML makes that a boolean, and it must still mean "yes"."""
    text = SHIPPED_RULES.read_text(encoding="utf-8")
    assert "{answer: blood_thinners, is: yes}" in text  # the shipped file relies on it
    rules = load_rules(SHIPPED_RULES)
    assert rules.rule("anticoagulant").when.conditions[0].values == ("yes",)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "content, problem",
    [
        ("rules: [unclosed", "not readable as YAML"),
        ("- just\n- a list\n", "top level"),
        ("", "top level"),
    ],
)
def test_unreadable_files_are_refused(content: str, problem: str, tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(RulesError, match=problem) as error:
        load_rules(path)
    assert str(path.resolve()) in str(error.value)


def test_a_missing_file_says_which_setting_to_check(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="RULES_FILE"):
        load_rules(tmp_path / "nowhere.yml")
