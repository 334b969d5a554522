"""`python -m bot language build`: a saved pipeline Rasa can load, rebuilt only when the lexicon changes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest

from bot.language import lexicon as lex
from bot.language import pipeline

ROOT = Path(__file__).resolve().parents[2]
LEXICON = ROOT / "data" / "lexicon"


def _env(**extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def _build(model_dir: Path, *args: str, lexicon_dir: Path = LEXICON) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bot", "language", "build", *args]
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=_env(SPACY_MODEL_DIR=str(model_dir), LEXICON_DIR=str(lexicon_dir)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = tmp_path_factory.mktemp("spacy") / "spacy-clinic"
    first = _build(model_dir)
    assert first.returncode == 0, first.stderr
    assert "built" in first.stdout
    return model_dir


def test_build_writes_a_stamped_pipeline(built: Path) -> None:
    stamp = json.loads((built / pipeline.STAMP_FILE).read_text())
    assert stamp["lexicon"] == lex.digest(LEXICON)
    config = (built / "config.cfg").read_text()
    # only spaCy's own components: Rasa's SpacyNLP loads it without importing this project
    assert 'pipeline = ["sentencizer","entity_ruler"]' in config
    assert 'phrase_matcher_attr = "LOWER"' in config


def test_build_is_idempotent_and_force_rebuilds(built: Path) -> None:
    before = (built / "config.cfg").stat().st_mtime_ns
    again = _build(built)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout and "nothing to do" in again.stdout
    assert (built / "config.cfg").stat().st_mtime_ns == before
    forced = _build(built, "--force")
    assert forced.returncode == 0 and "built" in forced.stdout


def test_a_changed_lexicon_rebuilds(tmp_path: Path) -> None:
    lexicon_dir = tmp_path / "lexicon"
    shutil.copytree(LEXICON, lexicon_dir)
    model_dir = tmp_path / "spacy"
    assert "built" in _build(model_dir, lexicon_dir=lexicon_dir).stdout
    assert "up to date" in _build(model_dir, lexicon_dir=lexicon_dir).stdout
    meds = lexicon_dir / "medications.yml"
    meds.write_text(meds.read_text() + "  - {name: Zorbitol, generic: zorbitol, class: other, forms: []}\n")
    assert "built" in _build(model_dir, lexicon_dir=lexicon_dir).stdout


def test_saved_pipeline_loads_in_a_fresh_process_and_finds_entities(built: Path) -> None:
    script = textwrap.dedent(f"""
        import json, spacy
        nlp = spacy.load({str(built)!r})
        doc = nlp("No, but I take Eliquis and asprin. My mum gets Cold Sores.")
        print(json.dumps([[e.text, e.label_] for e in doc.ents]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [
        ["Eliquis", "MEDICATION"],
        ["asprin", "MEDICATION"],
        ["Cold Sores", "CONDITION"],
    ]


def test_reading_works_without_a_built_pipeline(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.language.pipeline"):
        nlp = pipeline.base_nlp(LEXICON, tmp_path / "never-built")
    assert any("building it in memory" in r.getMessage() for r in caplog.records)
    assert [(e.text, e.label_) for e in nlp("warfarin").ents] == [("warfarin", "MEDICATION")]
    assert not (tmp_path / "never-built").exists()


def test_lexicon_errors_name_the_file_and_the_entry(tmp_path: Path) -> None:
    lexicon_dir = tmp_path / "lexicon"
    shutil.copytree(LEXICON, lexicon_dir)
    meds = lexicon_dir / "medications.yml"
    meds.write_text(
        meds.read_text() + "  - {name: Warfarin again, generic: warfarin, class: anticoagulant, forms: [warfrin]}\n"
    )
    with pytest.raises(lex.LexiconError, match="'warfrin' is listed under both 'warfarin' and 'Warfarin again'"):
        lex.load(lexicon_dir)
    meds.write_text(
        meds.read_text().replace("class: anticoagulant, forms: [warfrin]}", "class: blood_thinner, forms: []}")
    )
    with pytest.raises(lex.LexiconError, match="medications.yml: Warfarin again: class 'blood_thinner'"):
        lex.load(lexicon_dir)
