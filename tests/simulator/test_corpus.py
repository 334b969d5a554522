"""The simulator's corpus: external.yaml + ours.yaml, minus every sentence the NLU was trained on."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from tests.simulator import corpus as corpus_module
from tests.simulator.corpus import GROUPS, MIN_VARIANTS, QUESTIONS, load, nlu_sentences, normalise, short_of


@pytest.fixture(scope="module")
def corpus():
    return load()


# sha256 of ../shared/client-answers.yaml as written outside the team (version 1, 2026-12-01): the copy stays verbatim
EXTERNAL_SHA256 = "373c101852abf0cbb57ef857c2b42e97a10d8302488a2a60a5828fb67ba6a37c"


def test_external_is_the_shared_file_verbatim():
    import hashlib

    assert hashlib.sha256(corpus_module.EXTERNAL.read_bytes()).hexdigest() == EXTERNAL_SHA256


def test_the_loader_reports_what_it_dropped_and_none_remain(corpus):
    training = nlu_sentences()
    raw = []
    for path in (corpus_module.EXTERNAL, corpus_module.OURS):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for section in ("questions", "digressions"):
            for items in (data.get(section) or {}).values():
                raw += [item["text"] for item in items]
        for section in ("corrections", "names_that_are_words"):
            raw += [item["text"] for item in data.get(section) or []]
    in_training = [text for text in raw if normalise(text) in training]
    assert in_training, "expected some corpus sentences to be in data/nlu (the drop is then untested)"
    assert corpus.dropped_count == len(in_training) == len(corpus.dropped)
    assert not [e.text for e in corpus.all_entries() if normalise(e.text) in training]
    assert sum(corpus.counts().values()) + corpus.dropped_count + corpus.duplicates == len(raw)


def test_a_sentence_in_both_counts_for_neither(tmp_path):
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "x.yml").write_text('version: "3.1"\nnlu:\n- intent: deny\n  examples: |\n    - Nope, Never!\n')
    loaded = load(nlu_dir=nlu)
    assert "nope, never" in {normalise(e.text) for e in loaded.dropped}
    assert "nope, never" not in {normalise(e.text) for e in loaded.entries("herpes_history")}


@pytest.mark.parametrize("group", GROUPS)
def test_every_question_has_enough_variants_after_the_drop(corpus, group):
    assert len(corpus.entries(group)) >= MIN_VARIANTS, corpus_module.as_table(corpus)


def test_nothing_is_short(corpus):
    assert short_of(corpus) == {}


YES_NO = (
    "blood_thinners",
    "bleeding_disorder",
    "herpes_history",
    "herpes_active",
    "keloid",
    "active_acne",
    "isotretinoin",
    "pregnancy",
    "skin_infection",
)


@pytest.mark.parametrize("question", YES_NO + ("volunteer_confirm",))
def test_yes_no_questions_have_every_answer(corpus, question):
    means = Counter(e.means for e in corpus.entries(question))
    assert means["yes"] >= 8 and means["no"] >= 8 and means["unsure"] >= 5, means


@pytest.mark.parametrize("question", QUESTIONS)
def test_ours_covers_markup_emoji_and_long_answers(question):
    ours = yaml.safe_load(corpus_module.OURS.read_text(encoding="utf-8"))["questions"][question]
    texts = [item["text"] for item in ours]
    assert any("**" in t for t in texts) and any("<b>" in t for t in texts), question
    assert any(any(ord(ch) > 0x2000 for ch in t) for t in texts) or question in ("name", "contact", "area"), question
    assert any(len(t) > 90 for t in texts) or question in ("volunteer_confirm",), question


def test_labels_are_well_formed(corpus):
    from bot.screening.answers import CONCERNS, FURTHER_CHECKS
    from bot.screening.rules import DEFAULT_CODES

    for question in YES_NO + ("consent", "confirm", "volunteer_confirm"):
        for e in corpus.entries(question):
            assert e.means in ("yes", "no", "unsure", "why", "change"), (question, e.text)
            for code in e.also:
                assert code in DEFAULT_CODES, (question, e.text, code)
    for e in corpus.entries("concerns"):
        assert set(e.get("concerns")) <= set(CONCERNS), e.text
    for e in corpus.entries("further_checks"):
        assert set(e.get("checks")) <= set(FURTHER_CHECKS) | {"unsure"}, e.text
    for e in corpus.entries("corrections"):
        assert e.get("field") and (e.means in ("yes", "no", "unsure") or e.get("fills")), e.text
    for e in corpus.entries("name") + corpus.entries("names_that_are_words"):
        assert e.get("name"), e.text
