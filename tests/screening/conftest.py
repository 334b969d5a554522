"""Fixtures for the screening engine's tests."""
from __future__ import annotations

import pytest
from screening_helpers import SHIPPED_RULES

from bot.screening import RuleSet, load_rules


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_rules(SHIPPED_RULES)
