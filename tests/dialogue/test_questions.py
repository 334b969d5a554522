"""data/questions.yml declares each question once; domain.yml, the summary and the staff pages follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dialogue import cli, questions


def test_domain_is_in_step_with_the_declarations():
    assert cli.differences() == []


def test_the_questions_responses_are_written_into_the_domain(tmp_path: Path):
    domain = tmp_path / "domain.yml"
    original = (questions.ROOT / "domain.yml").read_text(encoding="utf-8")
    domain.write_text(original.replace("Thank you. What's your name?", "What's your name then?"), encoding="utf-8")
    assert any("utter_ask_name" in line for line in cli.differences(domain))
    assert cli.write_domain(domain) is True
    assert cli.differences(domain) == [] and domain.read_text(encoding="utf-8") == original


def test_a_domain_out_of_step_is_reported(tmp_path: Path):
    domain = (questions.ROOT / "domain.yml").read_text(encoding="utf-8")
    broken = tmp_path / "domain.yml"
    broken.write_text(domain.replace("      - blood_thinners\n", "", 1), encoding="utf-8")
    found = cli.differences(broken)
    assert any("required_slots" in line for line in found)


def test_every_question_has_its_wording():
    for q in questions.all_questions():
        assert q.prompt and q.why and q.reask, q.slot
        assert q.reader in questions.READERS


def test_yes_no_questions_are_the_engines_yes_no_keys():
    from bot.screening.answers import YES_NO_KEYS

    assert [q.key for q in questions.all_questions() if q.reader == "yes_no"] == list(YES_NO_KEYS)


@pytest.mark.parametrize(
    "body, message",
    [
        ("questions: []", "non-empty list"),
        ("questions:\n  - {slot: a, reader: nope, prompt: p, why: w, reask: r}", "reader `nope`"),
        ("questions:\n  - {slot: a, reader: name, why: w, reask: r}", "`prompt` is missing"),
        (
            "questions:\n  - {slot: a, reader: name, prompt: p, why: w, reask: r}\n"
            "  - {slot: a, reader: name, prompt: p, why: w, reask: r}",
            "declared twice",
        ),
        ("questions:\n  - {slot: a, reader: name, prompt: p, why: w, reask: r, buttons: [{title: x}]}", "buttons"),
    ],
)
def test_a_bad_questions_file_names_the_problem(tmp_path: Path, body: str, message: str):
    path = tmp_path / "questions.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(questions.QuestionsFileError, match=message) as error:
        questions.load(path)
    assert str(path) in str(error.value)


def test_placeholders_are_filled_and_missing_ones_left_empty():
    assert (
        questions.fill(
            "Thanks, {name}. {nope}In {isotretinoin_window_months} months",
            {"name": "Jo", "isotretinoin_window_months": 6.0},
        )
        == "Thanks, Jo. In 6 months"
    )


def test_skip_when():
    herpes_active = questions.by_slot()["herpes_active"]
    assert herpes_active.skipped({"herpes_history": "no"})
    assert not herpes_active.skipped({"herpes_history": "yes"})
