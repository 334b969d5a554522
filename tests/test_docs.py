"""The design lives in the repository: docs/architecture.md. No file cites the old design document outside it, and every
repository path the architecture document names exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import List

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
OLD_DESIGN = "DESIGN" + ".md"  # spelt apart, so this file does not cite it
SKIPPED_DIRS = (".venv", "node_modules", ".git")
# A verbatim copy of a file written outside the team, checked byte for byte (tests/simulator/test_corpus.py): its
# header is not ours to edit.
VERBATIM = {"tests/simulator/corpus/external.yaml"}


def repo_files() -> List[str]:
    """The repository's files as git sees them (tracked, and new ones not ignored), without .venv, node_modules, .git.

    Ignored files (var/, models/, caches) are made by running the product, not part of the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8", "surrogateescape")
    return sorted(
        path
        for path in listed.split("\0")
        if path and not any(path == d or path.startswith(d + "/") for d in SKIPPED_DIRS) and (ROOT / path).is_file()
    )


def test_no_file_cites_the_old_design_document() -> None:
    citing = [
        path for path in repo_files() if path not in VERBATIM and OLD_DESIGN.encode() in (ROOT / path).read_bytes()
    ]
    assert not citing, f"cite docs/architecture.md instead of {OLD_DESIGN} in: {', '.join(citing)}"


_CODE_SPAN = re.compile(r"`([^`\n]+)`")
# a repository path: words of path characters with a slash, ending in a file extension or a slash
_PATH = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*/(?:[A-Za-z0-9_.-]*\.[A-Za-z0-9]+|[A-Za-z0-9_.-]*/)?$")


def named_paths(text: str) -> List[str]:
    """Every word of a backticked span that looks like a repository path (a slash, and an extension or a final /).

    A word starting with "/" is a URL path on a server (`/staff`), not a file."""
    found = []
    for span in _CODE_SPAN.findall(text):
        for word in span.split():
            word = word.strip(",;:()")
            if "/" in word and "://" not in word and _PATH.match(word):
                found.append(word)
    return found


def test_the_path_pattern() -> None:
    assert named_paths("`bot/serve.py`, `data/nlu/`, `python -m bot serve`, `.venv/bin/python -m bot`") == [
        "bot/serve.py",
        "data/nlu/",
    ]
    assert named_paths("`/webhooks/rest/webhook`, `GET /api/consultations/{id}`, `http://localhost:8000/x.js`") == []
    assert named_paths("run `.venv/bin/python -m pytest tests/screening/cases.yml`") == ["tests/screening/cases.yml"]


def test_every_path_in_the_architecture_document_exists() -> None:
    paths = named_paths(ARCHITECTURE.read_text(encoding="utf-8"))
    assert len(paths) > 40  # the document names the code it describes
    missing = sorted({p for p in paths if not (ROOT / p).exists()})
    assert not missing, f"docs/architecture.md names paths that do not exist: {', '.join(missing)}"
