"""The simulated client's answers: external.yaml and ours.yaml merged, minus every sentence the NLU was trained on.

A sentence that also appears in data/nlu/*.yml (compared as normalised lower-case text) counts for neither: it is
dropped, and the loader says how many were. Entries keep their labels as plain dicts; `Corpus` only groups them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
EXTERNAL = CORPUS_DIR / "external.yaml"
OURS = CORPUS_DIR / "ours.yaml"
NLU_DIR = ROOT / "data" / "nlu"

# The questions the assistant asks, by corpus key (the form's requested slot is the same name except `confirm`).
QUESTIONS: Tuple[str, ...] = (
    "consent",
    "name",
    "contact",
    "concerns",
    "area",
    "medications",
    "blood_thinners",
    "bleeding_disorder",
    "herpes_history",
    "herpes_active",
    "keloid",
    "active_acne",
    "isotretinoin",
    "pregnancy",
    "skin_infection",
    "further_checks",
    "notes",
    "confirm",
    "volunteer_confirm",
)
DIGRESSIONS: Tuple[str, ...] = ("faq", "why", "person", "urgent", "not_urgent", "stop_or_restart")
# Every group that must hold enough variants: the questions, the digressions, corrections, names that are words.
GROUPS: Tuple[str, ...] = QUESTIONS + DIGRESSIONS + ("corrections", "names_that_are_words")
MIN_VARIANTS = 40

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ENTITY_MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    """Lower-case, NFC, entity markup and surrounding punctuation removed, whitespace collapsed."""
    text = unicodedata.normalize("NFC", str(text))
    text = _ENTITY_MARKUP.sub(r"\1", text)
    text = " ".join(text.casefold().split())
    return text.strip(" .!?,;:")


def nlu_sentences(nlu_dir: Path = NLU_DIR) -> Set[str]:
    """Every training example in data/nlu (intents, synonyms, lookups), normalised."""
    found: Set[str] = set()
    for path in sorted(nlu_dir.glob("**/*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        for item in data.get("nlu") or []:
            examples = item.get("examples") if isinstance(item, dict) else None
            if not isinstance(examples, str):
                continue
            for line in examples.splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.add(normalise(line[2:]))
    return found


@dataclass(frozen=True)
class Entry:
    """One labelled client sentence. `group` is a question, a digression, "corrections" or "names_that_are_words"."""

    group: str
    text: str
    label: Mapping[str, Any]
    source: str  # "external" or "ours"

    @property
    def means(self) -> Any:
        return self.label.get("means")

    @property
    def also(self) -> Tuple[str, ...]:
        return tuple(self.label.get("also") or ())

    def get(self, key: str, default: Any = None) -> Any:
        return self.label.get(key, default)


@dataclass
class Corpus:
    groups: Dict[str, List[Entry]] = field(default_factory=dict)
    dropped: List[Entry] = field(default_factory=list)  # in the NLU training data as well: counted for neither
    duplicates: int = 0  # the same sentence twice in one group (ours repeating external): kept once

    @property
    def dropped_count(self) -> int:
        return len(self.dropped)

    def entries(self, group: str) -> List[Entry]:
        return list(self.groups.get(group, ()))

    def where(self, group: str, **label: Any) -> List[Entry]:
        """Entries of a group whose labels equal these values (`means="no"`, `question="keloid"`)."""
        return [e for e in self.groups.get(group, ()) if all(e.get(k) == v for k, v in label.items())]

    def counts(self) -> Dict[str, int]:
        return {group: len(self.groups.get(group, ())) for group in GROUPS}

    def all_entries(self) -> Iterable[Entry]:
        for entries in self.groups.values():
            yield from entries


def _raw_entries(path: Path, source: str) -> List[Entry]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER) or {}
    out: List[Entry] = []
    for section in ("questions", "digressions"):
        for group, items in (data.get(section) or {}).items():
            for item in items or []:
                out.append(Entry(group, str(item["text"]), dict(item), source))
    for group in ("corrections", "names_that_are_words"):
        for item in data.get(group) or []:
            out.append(Entry(group, str(item["text"]), dict(item), source))
    return out


def load(
    external: Path = EXTERNAL,
    ours: Path = OURS,
    nlu_dir: Optional[Path] = NLU_DIR,
    training: Optional[Set[str]] = None,
) -> Corpus:
    """Both files merged; sentences also in the NLU training data dropped (reported in `dropped`)."""
    training = training if training is not None else (nlu_sentences(nlu_dir) if nlu_dir is not None else set())
    corpus = Corpus(groups={group: [] for group in GROUPS})
    seen: Set[Tuple[str, str]] = set()
    for entry in _raw_entries(external, "external") + _raw_entries(ours, "ours"):
        key = normalise(entry.text)
        if key in training:
            corpus.dropped.append(entry)
            continue
        if (entry.group, key) in seen:
            corpus.duplicates += 1
            continue
        seen.add((entry.group, key))
        corpus.groups.setdefault(entry.group, []).append(entry)
    return corpus


def short_of(corpus: Corpus, minimum: int = MIN_VARIANTS) -> Dict[str, int]:
    """Groups with fewer than `minimum` variants after the drop, with their counts."""
    return {group: n for group, n in corpus.counts().items() if n < minimum}


_CACHE: Dict[str, Corpus] = {}


def default() -> Corpus:
    """The corpus as the simulator uses it (loaded once per process)."""
    if "default" not in _CACHE:
        _CACHE["default"] = load()
    return _CACHE["default"]


def as_table(corpus: Corpus, groups: Sequence[str] = GROUPS) -> str:
    dropped: Dict[str, int] = {}
    for entry in corpus.dropped:
        dropped[entry.group] = dropped.get(entry.group, 0) + 1
    lines = [f"{'group':<22}{'variants':>9}{'dropped':>9}"]
    for group in groups:
        lines.append(f"{group:<22}{len(corpus.groups.get(group, ())):>9}{dropped.get(group, 0):>9}")
    return "\n".join(lines)


if __name__ == "__main__":
    loaded = load()
    print(as_table(loaded))
    print(f"dropped (also in data/nlu): {loaded.dropped_count}; duplicates kept once: {loaded.duplicates}")
    for entry in loaded.dropped:
        print(f"  dropped [{entry.source}] {entry.group}: {entry.text!r}")
