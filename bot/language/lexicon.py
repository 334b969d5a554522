"""The clinic's vocabulary, read from data/lexicon/*.yml: medicines, conditions, concerns and context cues."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

import yaml

# The files this package reads; their bytes make the build stamp. (further_checks.yml belongs to
# bot.language.checklist.)
LEXICON_FILES = ("medications.yml", "conditions.yml", "concerns.yml", "context.yml", "common_words.txt")

MEDICATION = "MEDICATION"
CONDITION = "CONDITION"
CONCERN = "CONCERN"
LABELS = (MEDICATION, CONDITION, CONCERN)

DRUG_CLASSES = (
    "anticoagulant",
    "antiplatelet",
    "nsaid",
    "oral_retinoid",
    "topical_retinoid",
    "immunosuppressant",
    "chemotherapy",
    "antiviral",
    "photosensitising",
    "supplement",
    "other",
)


class LexiconError(ValueError):
    """The lexicon is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One lexicon line: a medicine, a condition or a concern, with every surface form that names it."""

    label: str  # MEDICATION | CONDITION | CONCERN
    key: str  # unique id, used as the ruler's pattern id
    name: str  # as shown to staff
    forms: Tuple[str, ...]  # lower-case surface forms, variants included
    generic: Optional[str] = None  # medicines
    drug_class: Optional[str] = None
    code_now: Optional[str] = None  # reason code when current (medicines: the class's code)
    code_past: Optional[str] = None
    window_months: Optional[float] = None  # the past code applies only within this many months
    assume: str = "now"  # reading of a mention with no time cue
    code_flare: Optional[str] = None
    flare_words: Tuple[str, ...] = ()  # words that mean "flaring" for this entry; default: flare, flaring...
    field: Optional[str] = None  # answer key a correction about it goes to
    concern: Optional[str] = None  # concerns: the CONCERNS code

    @property
    def display(self) -> str:
        """Name for staff: "Eliquis (apixaban)" for a brand (capitalised in the lexicon), "warfarin" for a generic."""
        if self.generic and self.name[:1].isupper() and self.generic.lower() != self.name.lower():
            return f"{self.name} ({self.generic})"
        return self.name


@dataclass(frozen=True)
class Cue:
    category: str  # negated | other_person | uncertain | hypothetical | own | any
    direction: str  # forward | backward | both | terminate | pseudo
    phrase: str
    max_scope: Optional[int] = None
    terminates: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    entries: Tuple[Entry, ...]
    cues: Tuple[Cue, ...]
    own_too: Tuple[str, ...]
    common_words: frozenset
    digest: str
    by_form: Mapping[Tuple[str, str], Entry] = field(default_factory=dict)  # (label, form) -> entry

    def lookup(self, label: str, text: str) -> Optional[Entry]:
        """The entry a matched surface form belongs to (Rasa keeps only the text, so this is the way back)."""
        return self.by_form.get((label, normalise(text)))

    @cached_property
    def known_words(self) -> frozenset:
        """Every word of every surface form: words that are never an unrecognised medicine."""
        words: Set[str] = set()
        for entry in self.entries:
            for form in entry.forms:
                words.update(w for w in re.split(r"[^\w']+", form) if w)
        return frozenset(words)


_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, one space, curly quotes straightened: the key a surface form is looked up by."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return _SPACE.sub(" ", text).strip()


def _plural(word: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def variants(form: str) -> List[str]:
    """A form as clients write it: with and without hyphens and apostrophes, singular and plural.

    The entity ruler matches exact token sequences, so "blood thinner" does not match "blood thinners": list them all.
    """
    base = normalise(form)
    out = {base}
    if "-" in base:
        out.add(base.replace("-", " "))
        out.add(base.replace("-", ""))
    if "'" in base:
        out.add(base.replace("'s", "s").replace("'", ""))
        out.add(base.replace("'s", "").replace("'", ""))
        out.add(base.replace("'", "\u2019"))  # as phones type it: "St John\u2019s wort"
    if " " in base and "-" not in base:
        out.add(base.replace(" ", "-", 1))  # "blood-thinning tablets"
    for v in list(out):
        words = v.split(" ")
        last = words[-1]
        if last.isalpha() and len(last) > 3 and not last.endswith("s"):
            out.add(" ".join(words[:-1] + [_plural(last)]))
        elif last.isalpha() and len(last) > 5 and last.endswith("s") and not re.search(r"(?:ss|us|is|es)$", last):
            out.add(" ".join(words[:-1] + [last[:-1]]))  # "blood pressure tablets" -> "... tablet"
        elif last.isalpha() and len(last) > 5 and last.endswith("ies"):
            out.add(" ".join(words[:-1] + [last[:-3] + "y"]))
    return sorted(o for o in out if o)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise LexiconError(f"lexicon file not found: {path} (set LEXICON_DIR)") from exc
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: expected a mapping at the top")
    return data


def digest(lexicon_dir: Path) -> str:
    """Hash of the lexicon files' bytes: the build stamp."""
    h = hashlib.sha256()
    for name in LEXICON_FILES:
        path = lexicon_dir / name
        h.update(name.encode())
        h.update(path.read_bytes() if path.exists() else b"<missing>")
    return h.hexdigest()[:16]


_digests: Dict[Tuple, str] = {}


def current_digest(lexicon_dir: Path) -> str:
    """`digest`, re-read only when a lexicon file's size or modification time changed (called on every parse)."""
    signature: List[object] = [str(lexicon_dir)]
    for name in LEXICON_FILES:
        try:
            st = (Path(lexicon_dir) / name).stat()
            signature.append((name, st.st_mtime_ns, st.st_size))
        except FileNotFoundError:
            signature.append((name, None, None))
    key = tuple(signature)
    found = _digests.get(key)
    if found is None:
        found = digest(Path(lexicon_dir))
        _digests.clear()
        _digests[key] = found
    return found


def _require(path: Path, item: Mapping, keys: Iterable[str], index: int) -> None:
    missing = [k for k in keys if not item.get(k)]
    if missing:
        raise LexiconError(
            f"{path}: entry {index + 1} ({item.get('name') or item.get('code')}): missing {', '.join(missing)}"
        )


def _strings(path: Path, values: Iterable[object]) -> List[str]:
    out = []
    for value in values:
        if isinstance(value, bool) or value is None:
            raise LexiconError(f"{path}: a form was read as {value}: quote yes/no/on/off/null")
        out.append(str(value))
    return out


def _medications(path: Path) -> List[Entry]:
    data = _read_yaml(path)
    classes: Dict[str, dict] = data.get("classes") or {}
    unknown = set(classes) - set(DRUG_CLASSES)
    if unknown:
        raise LexiconError(f"{path}: unknown class(es) {sorted(unknown)}; known: {', '.join(DRUG_CLASSES)}")
    entries = []
    for i, item in enumerate(data.get("medications") or []):
        _require(path, item, ("name", "generic", "class"), i)
        cls = item["class"]
        if cls not in classes:
            raise LexiconError(f"{path}: {item['name']}: class {cls!r} is not under classes:")
        code = item["code"] if "code" in item else classes[cls].get("code")
        forms = {v for f in _strings(path, [item["name"], *(item.get("forms") or [])]) for v in variants(f)}
        entries.append(
            Entry(
                label=MEDICATION,
                key=f"med:{i}:{normalise(item['name'])}",
                name=str(item["name"]),
                forms=tuple(sorted(forms)),
                generic=str(item["generic"]),
                drug_class=cls,
                code_now=code,
                code_past=code,
                window_months=classes[cls].get("window_months"),
                assume="now",
                field={
                    "anticoagulant": "blood_thinners",
                    "antiplatelet": "blood_thinners",
                    "oral_retinoid": "isotretinoin",
                }.get(cls, "medications"),
            )
        )
    return entries


def _conditions(path: Path) -> List[Entry]:
    entries = []
    for i, item in enumerate(_read_yaml(path).get("conditions") or []):
        _require(path, item, ("name", "field"), i)
        if item.get("assume", "now") not in ("now", "past"):
            raise LexiconError(f"{path}: {item['name']}: assume must be now or past")
        forms = {v for f in _strings(path, [item["name"], *(item.get("forms") or [])]) for v in variants(f)}
        entries.append(
            Entry(
                label=CONDITION,
                key=f"cond:{i}:{normalise(item['name'])}",
                name=str(item["name"]),
                forms=tuple(sorted(forms)),
                code_now=item.get("now"),
                code_past=item.get("past"),
                window_months=item.get("window"),
                assume=item.get("assume", "now"),
                code_flare=item.get("flare"),
                flare_words=tuple(_strings(path, item.get("flare_words") or [])),
                field=item["field"],
            )
        )
    return entries


def _concerns(path: Path) -> List[Entry]:
    entries = []
    for i, item in enumerate(_read_yaml(path).get("concerns") or []):
        _require(path, item, ("code", "forms"), i)
        forms = {v for f in _strings(path, item["forms"]) for v in variants(f)}
        entries.append(
            Entry(
                label=CONCERN,
                key=f"concern:{item['code']}",
                name=str(item["code"]),
                forms=tuple(sorted(forms)),
                concern=item["code"],
                field="concerns",
            )
        )
    return entries


def _cues(path: Path) -> Tuple[Tuple[Cue, ...], Tuple[str, ...]]:
    data = _read_yaml(path)
    cues = []
    for i, item in enumerate(data.get("cues") or []):
        _require(path, item, ("category", "direction", "phrases"), i)
        for phrase in item["phrases"]:
            if isinstance(phrase, bool):
                raise LexiconError(f"{path}: cue {i + 1}: a phrase was read as {phrase}: quote yes/no/on/off")
            cues.append(
                Cue(
                    category=item["category"],
                    direction=item["direction"],
                    phrase=normalise(str(phrase)),
                    max_scope=item.get("max_scope"),
                    terminates=tuple(item.get("terminates") or ()),
                )
            )
    return tuple(cues), tuple(normalise(str(p)) for p in data.get("own_too") or [])


def _common_words(path: Path) -> frozenset:
    if not path.exists():
        raise LexiconError(f"lexicon file not found: {path}")
    words: Set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        words.update(w.lower() for w in line.split())
    return frozenset(words)


def load(lexicon_dir: Path) -> Lexicon:
    """Read and check the lexicon; a form claimed by two entries of one label is an error that names both."""
    lexicon_dir = Path(lexicon_dir)
    entries = (
        _medications(lexicon_dir / "medications.yml")
        + _conditions(lexicon_dir / "conditions.yml")
        + _concerns(lexicon_dir / "concerns.yml")
    )
    by_form: Dict[Tuple[str, str], Entry] = {}
    owner: Dict[str, Entry] = {}
    for entry in entries:
        for form in entry.forms:
            other = owner.get(form)
            if other is not None and other.key != entry.key:
                raise LexiconError(f"data/lexicon: {form!r} is listed under both {other.name!r} and {entry.name!r}")
            owner[form] = entry
            by_form[(entry.label, form)] = entry
    cues, own_too = _cues(lexicon_dir / "context.yml")
    return Lexicon(
        entries=tuple(entries),
        cues=cues,
        own_too=own_too,
        common_words=_common_words(lexicon_dir / "common_words.txt"),
        digest=digest(lexicon_dir),
        by_form=by_form,
    )


@lru_cache(maxsize=4)
def load_cached(lexicon_dir: Path, stamp: str) -> Lexicon:
    """`load`, once per lexicon content (the stamp is part of the key so an edited lexicon is re-read)."""
    return load(lexicon_dir)
