"""Judging a consultation's answers against the rules: plain data in, plain data out, no clock and no IO."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from bot.screening.answers import OUTCOMES
from bot.screening.rules import RuleSet

CLEAR = "clear"


def severity(outcome: str) -> int:
    """0 for clear, 1 for review, 2 for defer; an unknown outcome is a programming error."""
    try:
        return OUTCOMES.index(outcome)
    except ValueError:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {', '.join(OUTCOMES)}") from None


@dataclass(frozen=True)
class Finding:
    """One triggered rule: a flag (review/defer) or a note for the practitioner (clear)."""

    code: str
    outcome: str
    rule: str  # the rule's title
    rationale: str  # for the practitioner
    client_text: str  # one calm sentence the client may see
    detail: str  # what in the answers triggered it, in plain words

    @property
    def is_note(self) -> bool:
        return self.outcome == CLEAR

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def summary(self) -> dict[str, str]:
        """The `{"code", "rule", "detail"}` shape of `reasons` in the consultation JSON (docs/architecture.md)."""
        return {"code": self.code, "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class Judgement:
    outcome: str  # the most severe flag; "clear" when there is none
    findings: tuple[Finding, ...]  # flags then notes, most severe first, in rules-file order within a severity
    rules_version: str

    @property
    def flagged(self) -> bool:
        return self.outcome != CLEAR

    def reasons(self) -> list[dict[str, str]]:
        return [f.summary() for f in self.findings if not f.is_note]

    def notes(self) -> list[dict[str, str]]:
        return [f.summary() for f in self.findings if f.is_note]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "rules_version": self.rules_version,
            "reasons": self.reasons(),
            "notes": self.notes(),
            "findings": [f.to_dict() for f in self.findings],
        }


def judge(answers: Mapping[str, Any], rules: RuleSet) -> Judgement:
    """Every rule whose condition matches becomes a finding; the outcome is the most severe of them.

    Total by design: missing or malformed answers never raise, they simply do not match.
    """
    if not isinstance(answers, Mapping):
        answers = {}
    findings = []
    for rule in rules.rules:
        details = rule.when.match(answers)
        if details is not None:
            findings.append(
                Finding(
                    code=rule.code,
                    outcome=rule.outcome,
                    rule=rule.title,
                    rationale=rule.rationale,
                    client_text=rule.client_text,
                    detail="; ".join(details),
                )
            )
    findings.sort(key=lambda f: -severity(f.outcome))  # stable: keeps rules-file order within a severity
    outcome = findings[0].outcome if findings else CLEAR
    return Judgement(outcome=outcome, findings=tuple(findings), rules_version=rules.version)
