"""The screening engine: rules from data/screening/rules.yml judge a consultation's answers (no Rasa, no IO)."""

from bot.screening.judgement import Finding, Judgement, judge, severity
from bot.screening.rules import DEFAULT_CODES, Rule, RulesError, RuleSet, load_rules, parse_rules

__all__ = [
    "DEFAULT_CODES",
    "Finding",
    "Judgement",
    "Rule",
    "RuleSet",
    "RulesError",
    "judge",
    "load_rules",
    "parse_rules",
    "severity",
]
