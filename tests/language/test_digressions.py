"""The digression detectors (bot/language/digressions.py) over tests/language/cases/digressions.yml."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

import bot.language as language
from bot.language import digressions
from tests.language.cases import load

TABLE = "digressions.yml"
DETECTORS: Dict[str, Callable[[str], bool]] = {
    "asks_for_person": language.asks_for_person,
    "asks_to_stop": language.asks_to_stop,
    "asks_to_restart": language.asks_to_restart,
    "asks_why": language.asks_why,
    "wants_correction": language.wants_correction,
    "is_question": language.is_question,
}
MINIMUM = {"asks_for_person": 40, "red_flags": 40}  # positive and negative sentences each; 20 for the others


def _table() -> Dict[str, Any]:
    """The table, each `<section>_more...` (later batches) merged into its section."""
    raw = load(TABLE)
    assert isinstance(raw, dict), f"{TABLE}: expected a mapping of detector -> cases"
    table: Dict[str, Any] = {k: v for k, v in raw.items() if "_more" not in k}
    for key, more in raw.items():
        if "_more" not in key:
            continue
        base = key.split("_more")[0]
        if isinstance(more, dict):
            table[base] = {
                part: list(table[base][part]) + list(more.get(part) or []) for part in ("positive", "negative")
            }
        else:
            table[base] = list(table[base]) + list(more)
    return table


def _bool_params() -> List[Any]:
    out = []
    for name in DETECTORS:
        for expected, key in ((True, "positive"), (False, "negative")):
            for text in _table()[name][key]:
                out.append(pytest.param(name, text, expected, id=f"{name}-{key}-{text[:50]}"))
        for text in _table()["ordinary"]:
            out.append(pytest.param(name, text, False, id=f"{name}-ordinary-{text[:50]}"))
    return out


def _flag_params() -> List[Any]:
    out = [
        pytest.param(c["text"], c["flags"], id=f"{'+'.join(c['flags']) or 'none'}-{c['text'][:50]}")
        for c in _table()["red_flags"]
    ]
    out += [pytest.param(text, [], id=f"ordinary-{text[:50]}") for text in _table()["ordinary"]]
    return out


@pytest.mark.parametrize("name,text,expected", _bool_params())
def test_detector(name: str, text: str, expected: bool) -> None:
    assert DETECTORS[name](text) is expected


@pytest.mark.parametrize("text,flags", _flag_params())
def test_red_flags(text: str, flags: List[str]) -> None:
    found = language.red_flags(text)
    assert all(isinstance(f, language.RedFlag) and f.label for f in found)
    assert [f.id for f in found] == flags


def test_the_tables_are_big_enough() -> None:
    table = _table()
    for name in DETECTORS:
        want = MINIMUM.get(name, 20)
        assert len(table[name]["positive"]) >= want, name
        assert len(table[name]["negative"]) >= want, name
    positive = [c for c in table["red_flags"] if c["flags"]]
    negative = [c for c in table["red_flags"] if not c["flags"]]
    assert len(positive) >= MINIMUM["red_flags"] and len(negative) >= MINIMUM["red_flags"]


def test_every_red_flag_in_the_file_is_exercised() -> None:
    ids = {f.flag.id for f in digressions.flag_cues().flags}
    seen = {i for c in _table()["red_flags"] for i in c["flags"]}
    assert ids <= seen, f"flags with no positive sentence: {sorted(ids - seen)}"
    assert {
        "breathing",
        "face_swelling",
        "spreading_redness",
        "reaction_after_treatment",
        "chest_pain",
        "fainting",
        "bleeding",
        "vision_or_blanching",
    } <= ids


def test_empty_and_odd_input() -> None:
    for text in ("", "   ", "🙂", "?!", "\u200b", "/restart", "<b></b>"):
        assert isinstance(language.red_flags(text), list)
        for name, detector in DETECTORS.items():
            assert isinstance(detector(text), bool), name
    assert language.is_question("?")
    assert not language.asks_for_person("")
    assert language.red_flags("") == []


def test_a_malformed_cue_file_names_the_file_and_entry(tmp_path: Path) -> None:
    lexicon = Path(digressions.__file__).resolve().parents[2] / "data" / "lexicon"
    (tmp_path / digressions.DIGRESSIONS_FILE).write_text((lexicon / digressions.DIGRESSIONS_FILE).read_text())
    (tmp_path / digressions.RED_FLAGS_FILE).write_text("flags:\n  - {id: breathing, any: [can't breathe]}\n")
    with pytest.raises(digressions.CueError, match=r"red_flags.yml: flag 1 \(breathing\): missing label"):
        digressions.check(tmp_path)
    (tmp_path / digressions.RED_FLAGS_FILE).write_text("flags:\n  - {id: x, label: y, any: [no]}\n")
    with pytest.raises(digressions.CueError, match="quote yes/no"):
        digressions.check(tmp_path)


def test_cues_follow_lexicon_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lexicon = Path(digressions.__file__).resolve().parents[2] / "data" / "lexicon"
    (tmp_path / digressions.DIGRESSIONS_FILE).write_text((lexicon / digressions.DIGRESSIONS_FILE).read_text())
    (tmp_path / digressions.RED_FLAGS_FILE).write_text(
        "flags:\n  - {id: nosebleed, label: a nosebleed, any: [nosebleed]}\n"
    )
    monkeypatch.setenv("LEXICON_DIR", str(tmp_path))
    digressions.reload()
    try:
        assert [f.id for f in language.red_flags("I have a nosebleed")] == ["nosebleed"]
        assert language.red_flags("I can't breathe") == []
    finally:
        monkeypatch.delenv("LEXICON_DIR")
        digressions.reload()
    assert [f.id for f in language.red_flags("I can't breathe")] == ["breathing"]


def test_timing() -> None:
    """Each detector well under a millisecond a message (printed, not asserted: shared CI machines vary). The
    dialogue calls several on one message: they share its reading (a small cache), which is cleared here."""
    table = _table()
    sentences = list(table["ordinary"]) + [c["text"] for c in table["red_flags"]]
    for name in DETECTORS:
        sentences += table[name]["positive"] + table[name]["negative"]
    functions: Dict[str, Callable[[str], Any]] = dict(DETECTORS, red_flags=language.red_flags)
    for fn in functions.values():  # load and compile the cue files first
        fn("warm up")
    print()
    for name, fn in functions.items():
        times = []
        for text in sentences:
            digressions._read_message.cache_clear()  # each call reads its message afresh
            start = time.perf_counter()
            fn(text)
            times.append(time.perf_counter() - start)
        times.sort()
        p50, p95 = times[len(times) // 2] * 1000, times[int(len(times) * 0.95)] * 1000
        print(f"{name:18s} {len(times)} messages: p50 {p50:.3f} ms, p95 {p95:.3f} ms, max {times[-1] * 1000:.3f} ms")
