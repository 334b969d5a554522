"""Loading data/screening/rules.yml: the clinic's screening rules, checked on load so a mistake fails loudly there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Optional, Union

import yaml

from bot import settings as bot_settings
from bot.screening.answers import OUTCOMES
from bot.screening.conditions import Condition, ConditionError, ParseContext, parse

# The default reason codes and outcomes (docs/architecture.md, "Reason codes"). A clinic may add rules, but these
# codes keep their meaning, so every one must be in the file (staff, tests and reports outside the code rely on them).
DEFAULT_CODES: Mapping[str, str] = MappingProxyType(
    {
        "active_acne": "defer",
        "active_herpes": "defer",
        "isotretinoin_recent": "defer",
        "pregnancy": "defer",
        "skin_infection": "defer",
        "anticoagulant": "review",
        "bleeding_disorder": "review",
        "herpes_history": "review",
        "keloid_tendency": "review",
        "unrecognised_medication": "review",
        "unsure_answer": "review",
        "client_requested_human": "review",
        "skin_lesion": "review",
        "immunosuppression": "review",
        "diabetes_uncontrolled": "review",
        "autoimmune": "review",
        "vitiligo": "review",
        "rosacea_flare": "defer",
        "recent_sun_damage": "defer",
        "recent_procedure": "defer",
        "injectables_recent": "review",
        "allergy_metal_or_anaesthetic": "review",
        "under_18": "review",
    }
)

_TOP_FIELDS = ("rules_version", "approved_by", "settings", "rules")
_RULE_FIELDS = ("code", "outcome", "title", "client_text", "rationale", "when")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# The assistant never gives a client a verdict (docs/architecture.md, "Rules of judgement"): refused on load.
_VERDICT_WORDS = re.compile(r"\b(un)?(safe\w*|suitab\w*|approv\w*)", re.IGNORECASE)


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file, the rule and the field to fix."""


_Fail = Callable[[str, str], RulesError]


@dataclass(frozen=True)
class Rule:
    code: str
    outcome: str  # "defer" | "review" | "clear" (clear: a note for the practitioner, not a flag)
    title: str
    client_text: str
    rationale: str
    when: Condition

    @property
    def is_note(self) -> bool:
        return self.outcome == "clear"


@dataclass(frozen=True)
class RuleSet:
    version: str
    approved_by: str
    settings: Mapping[str, Any]
    rules: tuple[Rule, ...]
    source: str = ""

    def rule(self, code: str) -> Rule:
        for rule in self.rules:
            if rule.code == code:
                return rule
        raise KeyError(code)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.rules)


_cache: dict[Path, tuple[tuple[int, int], RuleSet]] = {}


def load_rules(path: Optional[Union[str, Path]] = None) -> RuleSet:
    """Read and check the rules file (default: the RULES_FILE setting); re-read only when the file changes."""
    if path is None:
        path = bot_settings.get().rules_file
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror}); set RULES_FILE") from exc
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: not readable as YAML: {exc}") from exc
    ruleset = parse_rules(raw, str(path))
    _cache[path] = (stamp, ruleset)
    return ruleset


def parse_rules(raw: Any, source: str = "<rules>") -> RuleSet:
    """Check a rules document (already read from YAML) and build the RuleSet; `source` names it in errors."""

    def fail(where: str, problem: str) -> RulesError:
        return RulesError(f"{source}: {where}: {problem}")

    if not isinstance(raw, Mapping):
        raise fail("top level", f"expected a mapping with {', '.join(_TOP_FIELDS)}")
    for key in raw:
        if key not in _TOP_FIELDS:
            raise fail(f"field {key!r}", f"unknown top-level field; allowed: {', '.join(_TOP_FIELDS)}")
    version = _string(raw, "rules_version", lambda p: fail("field 'rules_version'", p))
    approved_by = _string(raw, "approved_by", lambda p: fail("field 'approved_by'", p))
    settings = raw.get("settings") or {}
    if not isinstance(settings, Mapping):
        raise fail("field 'settings'", "must be a mapping of setting names to values")
    _check_settings(settings, fail)
    rules_raw = raw.get("rules")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise fail("field 'rules'", "must be a non-empty list of rules")

    # Codes first, so that `volunteered: CODE` can refer to a rule further down the file.
    codes: list[str] = []
    for index, item in enumerate(rules_raw, start=1):
        code = item.get("code") if isinstance(item, Mapping) else None
        where = f"rule {index} ({code if isinstance(code, str) else 'no code'})"
        if not isinstance(item, Mapping):
            raise fail(where, f"a rule must be a mapping with {', '.join(_RULE_FIELDS)}")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise fail(f"{where}, field 'code'", f"must be lower_snake_case words, got {code!r}")
        if code in codes:
            raise fail(f"{where}, field 'code'", f"duplicate code; also rule {codes.index(code) + 1}")
        codes.append(code)
    missing = [c for c in DEFAULT_CODES if c not in codes]
    if missing:
        raise fail(
            "field 'rules'",
            f"missing default reason code(s) {', '.join(missing)}: these codes keep their "
            f"meaning (docs/architecture.md), so each needs a rule",
        )

    # Read-only all the way down: one cached RuleSet is shared by every caller.
    frozen = {k: MappingProxyType(dict(v)) if isinstance(v, Mapping) else v for k, v in settings.items()}
    context = ParseContext(settings=MappingProxyType(frozen), codes=frozenset(codes))
    rules = tuple(_rule(item, f"rule {i} ({item['code']})", context, fail) for i, item in enumerate(rules_raw, 1))
    return RuleSet(version=version, approved_by=approved_by, settings=context.settings, rules=rules, source=source)


def _rule(item: Mapping[str, Any], where: str, context: ParseContext, fail: _Fail) -> Rule:
    for key in item:
        if key not in _RULE_FIELDS:
            raise fail(f"{where}, field {key!r}", f"unknown field; a rule has: {', '.join(_RULE_FIELDS)}")
    for key in _RULE_FIELDS:
        if key not in item:
            raise fail(f"{where}, field {key!r}", "missing")

    def failing(key: str) -> Callable[[str], RulesError]:
        return lambda problem: fail(f"{where}, field {key!r}", problem)

    texts = {key: _string(item, key, failing(key)) for key in ("outcome", "title", "client_text", "rationale")}
    if texts["outcome"] not in OUTCOMES:
        raise fail(f"{where}, field 'outcome'", f"must be one of {', '.join(OUTCOMES)}, got {texts['outcome']!r}")
    verdict = _VERDICT_WORDS.search(texts["client_text"])
    if verdict:
        raise fail(
            f"{where}, field 'client_text'",
            f"the assistant never tells a client they are safe, suitable or approved; reword {verdict.group(0)!r}",
        )
    try:
        when = parse(item["when"], "when", context)
    except ConditionError as exc:
        raise fail(f"{where}, field {exc.field!r}", exc.problem) from exc
    return Rule(
        code=item["code"],
        outcome=texts["outcome"],
        title=texts["title"],
        client_text=texts["client_text"],
        rationale=texts["rationale"],
        when=when,
    )


def _check_settings(settings: Mapping[str, Any], fail: _Fail) -> None:
    """The settings other parts of the assistant read (the dialogue quotes them to clients) must be well-formed."""
    window = settings.get("isotretinoin_window_months", 6)
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not window > 0:
        raise fail("settings, field 'isotretinoin_window_months'", f"must be a positive number, got {window!r}")
    windows = settings.get("recent_procedure_windows", {})
    if not isinstance(windows, Mapping) or not all(isinstance(v, str) and v.strip() for v in windows.values()):
        raise fail(
            "settings, field 'recent_procedure_windows'",
            'must map each kind of procedure to a window in words, e.g. ablative_laser: "6 to 12 weeks"',
        )


def _string(raw: Mapping[str, Any], key: str, fail: Callable[[str], RulesError]) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise fail(f"must be text (in quotes if it looks like a date or number), got {value!r}")
    return value.strip()
