"""The spaCy pipeline built from the lexicon: saved for Rasa's SpacyNLP, loaded once (and cached) for our own readers.

What is saved to disk is only what Rasa can load without importing this project: spaCy's own tokenizer, sentencizer
and entity_ruler. The context step (medspaCy ConText with the project's cues, the misspelling fallback) is added in
memory when this package loads the pipeline, so `spacy.load(path)` in Rasa never needs our factories.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import spacy
from spacy.language import Language

from bot.language import lexicon as lex

logger = logging.getLogger(__name__)

STAMP_FILE = "lexicon.stamp.json"
PIPELINE_NAME = "clinic"


@dataclass(frozen=True)
class BuildResult:
    built: bool  # False: the stamp matched, nothing was done
    path: Path
    digest: str
    patterns: int
    seconds: float


def settings_paths() -> tuple:
    from bot import settings

    current = settings.get()
    return Path(current.lexicon_dir), Path(current.spacy_model_dir)


def make_nlp(lexicon: lex.Lexicon) -> Language:
    """Blank English + sentencizer + an entity ruler holding every surface form (case-insensitive)."""
    nlp = spacy.blank("en")
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = f"Clinic vocabulary from data/lexicon (stamp {lexicon.digest})"
    # sentences bound the reach of a denial ("No. I take aspirin daily" is not denied)
    nlp.add_pipe("sentencizer", config={"punct_chars": [".", "!", "?", "\n", ";", "…"]})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "validate": False})
    patterns = [
        {"label": entry.label, "pattern": form, "id": entry.key} for entry in lexicon.entries for form in entry.forms
    ]
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


def read_stamp(path: Path) -> Optional[str]:
    try:
        return json.loads((path / STAMP_FILE).read_text(encoding="utf-8")).get("lexicon")
    except (FileNotFoundError, ValueError):
        return None


def build(lexicon_dir: Optional[Path] = None, out_dir: Optional[Path] = None, force: bool = False) -> BuildResult:
    """Build and save the pipeline unless the saved one was built from this very lexicon (its stamp matches)."""
    default_lex, default_out = settings_paths()
    lexicon_dir = Path(lexicon_dir or default_lex)
    out_dir = Path(out_dir or default_out)
    started = time.perf_counter()
    digest = lex.digest(lexicon_dir)
    if not force and read_stamp(out_dir) == digest and (out_dir / "config.cfg").exists():
        return BuildResult(False, out_dir, digest, 0, time.perf_counter() - started)
    lexicon = lex.load(lexicon_dir)
    nlp = make_nlp(lexicon)
    # write beside the target and swap, so a running process never sees half a pipeline
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".spacy-build-", dir=out_dir.parent))
    try:
        nlp.to_disk(tmp)
        (tmp / STAMP_FILE).write_text(json.dumps({"lexicon": digest, "spacy": spacy.__version__}), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    patterns = sum(len(e.forms) for e in lexicon.entries)
    return BuildResult(True, out_dir, digest, patterns, time.perf_counter() - started)


_lock = threading.Lock()
_cache: dict = {}


def base_nlp(lexicon_dir: Optional[Path] = None, model_dir: Optional[Path] = None) -> Language:
    """The saved pipeline when it matches the lexicon, else one built in memory (logged). Cached per lexicon."""
    default_lex, default_out = settings_paths()
    lexicon_dir = Path(lexicon_dir or default_lex)
    model_dir = Path(model_dir or default_out)
    digest = lex.current_digest(lexicon_dir)
    key = (str(lexicon_dir), str(model_dir), digest)
    with _lock:
        if key in _cache:
            return _cache[key]
        if read_stamp(model_dir) == digest:
            nlp = spacy.load(model_dir)
        else:
            logger.info(
                "language pipeline at %s is missing or stale: building it in memory from %s "
                "(run `python -m bot language build` to save it for Rasa)",
                model_dir,
                lexicon_dir,
            )
            nlp = make_nlp(lex.load_cached(lexicon_dir, digest))
        _cache.clear()
        _cache[key] = nlp
        return nlp
