"""The consent answer in everyday words (bot/language/consent.py): a table of our own sentences."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.language.consent import read_consent

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "consent.yml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"] for c in CASES])
def test_consent(case):
    assert read_consent(case["text"]) == case["means"]
