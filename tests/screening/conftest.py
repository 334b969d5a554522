"""Fixtures for the screening engine's tests."""

from __future__ import annotations

import pytest

from bot.screening import RuleSet, load_rules
from tests.screening.screening_helpers import SHIPPED_RULES


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules(SHIPPED_RULES)
