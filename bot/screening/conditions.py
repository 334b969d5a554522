"""The condition language of data/screening/rules.yml: parsed and checked once on load, then matched against answers.

A parsed condition's `match(answers)` returns None when it does not match, or the plain-words details of what
triggered it (never empty). Matching is total: a missing key or a value of the wrong shape simply does not match,
because the engine must never fail on a consultation, whatever the adapters hand it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol, Sequence

from bot.screening.answers import CONCERNS, FURTHER_CHECKS, NO, UNSURE, YES, YES_NO_KEYS, YES_NO_VALUES

Details = Optional[tuple[str, ...]]

# The shape of every answer key, as documented in answers.py's docstring. It belongs in answers.py (see the
# report); kept here so the rules file can be checked against it. A test guards it against drift from answers.py.
ANSWER_SHAPES: Mapping[str, str] = {
    "name": "text",
    "contact_email": "text",
    "contact_phone": "text",
    "concerns": "list",
    "concerns_other": "text",
    "area": "text",
    "medications": "text",
    "medication_facts": "medications",
    "unrecognised_medications": "list",
    **{key: "yes_no" for key in YES_NO_KEYS},
    "isotretinoin_months_ago": "number",
    "further_checks": "list",
    "notes": "text",
    "requested_human": "flag",
    "volunteered": "volunteered",
}

# The drug classes the language layer puts in medication_facts[].drug_class.
DRUG_CLASSES: tuple[str, ...] = (
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

# Values a rule may test for, per key, so that a typo in rules.yml fails on load rather than never matching.
_ALLOWED_VALUES: Mapping[str, tuple[str, ...]] = {
    **{key: YES_NO_VALUES for key in YES_NO_KEYS},
    "further_checks": (*FURTHER_CHECKS, UNSURE),
    "concerns": CONCERNS,
}

# Friendlier words for the few keys whose name reads badly in a practitioner's detail line.
_LABELS: Mapping[str, str] = {
    "isotretinoin_months_ago": "months since the last isotretinoin dose",
    "requested_human": "asked to speak to a person",
}


class ConditionError(ValueError):
    """A condition in the rules file is malformed; `field` is its path inside the rule, e.g. `when.any[2].is`."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Condition(Protocol):
    def match(self, answers: Mapping[str, Any]) -> Details: ...


# ---------------------------------------------------------------------------------------------------------------
# Reading answer values leniently. Adapters should hand over the documented shapes; when they do not, we lean
# towards matching (a flag goes to a person) rather than silently dropping a risk factor.


def label(key: str) -> str:
    return _LABELS.get(key, key.replace("_", " "))


def _norm(value: Any) -> Any:
    """Compare text case- and space-insensitively; a boolean yes/no is read as "yes"/"no"."""
    if value is True:
        return YES
    if value is False:
        return NO
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _items(value: Any) -> list[Any]:
    """The items of a list answer; a lone string counts as a one-item list, anything else as empty."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return []


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
    if not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _fmt(number: float) -> str:
    return f"{number:g}"


def _words(code: str) -> str:
    return code.replace("_", " ")


def _answered(value: str, keys: Sequence[str]) -> str:
    labels = ", ".join(label(k) for k in keys)
    if value == YES:
        return f"Answered yes to: {labels}"
    if value == UNSURE:
        return f"Not sure: {labels}"
    if value == NO:
        return f"Answered no to: {labels}"
    return f"{labels[:1].upper()}{labels[1:]}: {value}"


# ---------------------------------------------------------------------------------------------------------------
# The conditions.


@dataclass(frozen=True)
class AnswerIs:
    """`{answer: KEY, is: VALUE}` or `is: [V1, V2]`: a scalar answer equals one of the values."""

    key: str
    values: tuple[Any, ...]

    def match(self, answers: Mapping[str, Any]) -> Details:
        value = _norm(answers.get(self.key))
        if not isinstance(value, (str, int, float)) or value not in self.values:
            return None
        return (_answered(str(value), [self.key]),)


@dataclass(frozen=True)
class AnswerIncludes:
    """`{answer: KEY, includes: VALUE}` or `includes: [V1, V2]`: a list answer contains one of the values."""

    key: str
    values: tuple[str, ...]

    def match(self, answers: Mapping[str, Any]) -> Details:
        present = {_norm(item) for item in _items(answers.get(self.key)) if isinstance(item, str)}
        found = [v for v in self.values if v in present]
        if not found:
            return None
        name = label(self.key)
        return (f"{name[:1].upper()}{name[1:]}: {', '.join(_words(v) for v in found)}",)


@dataclass(frozen=True)
class AnswerBetween:
    """`{answer: KEY, at_most: N}` and/or `at_least: N`: a numeric answer within bounds (inclusive)."""

    key: str
    at_least: Optional[float]
    at_most: Optional[float]

    def match(self, answers: Mapping[str, Any]) -> Details:
        number = _number(answers.get(self.key))
        if number is None:
            return None
        if self.at_least is not None and number < self.at_least:
            return None
        if self.at_most is not None and number > self.at_most:
            return None
        bounds = [
            f"at least {_fmt(self.at_least)}" if self.at_least is not None else "",
            f"at most {_fmt(self.at_most)}" if self.at_most is not None else "",
        ]
        name = label(self.key)
        return (f"{name[:1].upper()}{name[1:]}: {_fmt(number)} ({' and '.join(b for b in bounds if b)})",)


@dataclass(frozen=True)
class MedicationClass:
    """`{medication_class: [C1, C2], current: true}` or `within_months: N`; with neither, any mention counts."""

    classes: tuple[str, ...]
    current: bool = False
    within_months: Optional[float] = None

    def _counts(self, entry: Mapping[str, Any]) -> bool:
        if _norm(entry.get("drug_class")) not in self.classes:
            return False
        is_current = entry.get("current") is True
        if self.current:
            return is_current
        if self.within_months is not None:
            months = _number(entry.get("months_ago"))
            return is_current or (months is not None and months <= self.within_months)
        return True

    def match(self, answers: Mapping[str, Any]) -> Details:
        entries = [e for e in _items(answers.get("medication_facts")) if isinstance(e, Mapping)]
        details = tuple(_describe_medicine(e) for e in entries if self._counts(e))
        return details or None


def _describe_medicine(entry: Mapping[str, Any]) -> str:
    name, generic = _text(entry.get("name")), _text(entry.get("generic"))
    drug_class = _text(entry.get("drug_class"))
    about = [x for x in (generic if generic and generic.lower() != (name or "").lower() else None, drug_class) if x]
    text = f"Medication mentioned: {name or generic or 'a medicine'}"
    if about:
        text += f" ({', '.join(about)})"
    months = _number(entry.get("months_ago"))
    if entry.get("current") is not True and months is not None:
        text += f", last taken {_fmt(months)} months ago"
    return text


@dataclass(frozen=True)
class UnrecognisedMedication:
    """`{unrecognised_medication: true}`: the client named a medicine the assistant could not identify."""

    def match(self, answers: Mapping[str, Any]) -> Details:
        names = [n for n in (_text(x) for x in _items(answers.get("unrecognised_medications"))) if n]
        if not names:
            return None
        return ("Unrecognised medication: " + ", ".join(f"'{n}'" for n in names),)


@dataclass(frozen=True)
class AnyAnswer:
    """`{any_answer: VALUE, keys: [...]}`: any of the yes/no keys has VALUE, or any list key contains it."""

    value: str
    keys: tuple[str, ...]

    def match(self, answers: Mapping[str, Any]) -> Details:
        hits = [k for k in self.keys if self._has(answers.get(k), ANSWER_SHAPES[k])]
        return (_answered(self.value, hits),) if hits else None

    def _has(self, answer: Any, shape: str) -> bool:
        if shape == "list":
            return any(_norm(item) == self.value for item in _items(answer) if isinstance(item, str))
        return _norm(answer) == self.value


@dataclass(frozen=True)
class Flag:
    """`{flag: KEY}`: a true/false answer is true."""

    key: str

    def match(self, answers: Mapping[str, Any]) -> Details:
        if _norm(answers.get(self.key)) not in (YES, "true"):
            return None
        name = label(self.key)
        return (f"{name[:1].upper()}{name[1:]}",)


@dataclass(frozen=True)
class Volunteered:
    """`{volunteered: CODE}`: the client mentioned CODE outside its question and did not say it was wrong.

    An unconfirmed mention (confirmed: None) still counts: a person reads it, which is the conservative side.
    """

    code: str

    def match(self, answers: Mapping[str, Any]) -> Details:
        details = []
        for entry in _items(answers.get("volunteered")):
            if not isinstance(entry, Mapping) or _norm(entry.get("code")) != self.code:
                continue
            confirmed = entry.get("confirmed")
            if confirmed is False:
                continue
            said = "Mentioned during the conversation" + ("" if confirmed is True else " (not confirmed)")
            mention = _text(entry.get("mention"))
            details.append(f"{said}: '{mention}'" if mention else said)
        return tuple(details) or None


@dataclass(frozen=True)
class AnyOf:
    """`{any: [...]}`: at least one matches; the details of every matching alternative are kept."""

    conditions: tuple[Condition, ...]

    def match(self, answers: Mapping[str, Any]) -> Details:
        details = [d for c in self.conditions for d in (c.match(answers) or ())]
        return tuple(details) or None


@dataclass(frozen=True)
class AllOf:
    """`{all: [...]}`: every one matches."""

    conditions: tuple[Condition, ...]

    def match(self, answers: Mapping[str, Any]) -> Details:
        details: list[str] = []
        for condition in self.conditions:
            found = condition.match(answers)
            if found is None:
                return None
            details.extend(found)
        return tuple(details)


# ---------------------------------------------------------------------------------------------------------------
# Parsing: every malformed condition raises ConditionError naming the field, so the loader can name file and rule.


@dataclass(frozen=True)
class ParseContext:
    settings: Mapping[str, Any]
    codes: frozenset[str]  # every rule code in the file: what `volunteered:` may refer to


def parse(raw: Any, field: str, context: ParseContext) -> Condition:
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(
            field, f"a condition must be a mapping such as {{answer: blood_thinners, is: yes}}, got {raw!r}"
        )
    heads = [k for k in raw if k in _PARSERS]
    if len(heads) != 1:
        found = ", ".join(map(str, raw)) or "nothing"
        raise ConditionError(field, f"unknown condition type ({found}); use exactly one of: {', '.join(_PARSERS)}")
    return _PARSERS[heads[0]](raw, field, context)


def _only(raw: Mapping[str, Any], field: str, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    unknown = [str(k) for k in raw if k not in allowed]
    if unknown:
        raise ConditionError(f"{field}.{unknown[0]}", f"unknown key here; allowed: {', '.join(sorted(allowed))}")


def _one_or_many(value: Any, field: str) -> tuple[Any, ...]:
    # Normalised because YAML reads a bare `yes`/`no` as a boolean, and a clinical lead will write them bare.
    values = tuple(_norm(v) for v in value) if isinstance(value, list) else (_norm(value),)
    if not values:
        raise ConditionError(field, "needs at least one value")
    for v in values:
        if not isinstance(v, (str, int, float)):
            raise ConditionError(field, f"values must be plain words or numbers, got {v!r}")
    return values


def _choose(values: tuple[Any, ...], field: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    for value in values:
        if value not in allowed:
            raise ConditionError(field, f"{value!r} is not a known {what}; known: {', '.join(allowed)}")
    return tuple(values)


def _answer_key(key: Any, field: str, shapes: Sequence[str]) -> str:
    if not isinstance(key, str) or key not in ANSWER_SHAPES:
        raise ConditionError(
            field, f"unknown answer key {key!r}; known keys (bot/screening/answers.py): {', '.join(ANSWER_SHAPES)}"
        )
    if ANSWER_SHAPES[key] not in shapes:
        raise ConditionError(
            field, f"answer {key!r} is a {ANSWER_SHAPES[key]} answer; this test needs a {' or '.join(shapes)} answer"
        )
    return str(key)


def _number_or_setting(value: Any, field: str, context: ParseContext) -> float:
    if isinstance(value, Mapping):
        _only(value, field, ["setting"])
        name = value.get("setting")
        if not isinstance(name, str) or name not in context.settings:
            raise ConditionError(
                f"{field}.setting",
                f"no setting named {name!r} under settings:; known: {', '.join(map(str, context.settings)) or 'none'}",
            )
        value, field = context.settings[name], f"settings.{name}"
    number = _number(value) if isinstance(value, (int, float)) else None  # not "6": the file says numbers plainly
    if number is None:
        raise ConditionError(field, f"must be a number, got {value!r}")
    return number


def _parse_answer(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    tests = [t for t in ("is", "includes", "at_most", "at_least") if t in raw]
    _only(raw, field, ["answer", "is", "includes", "at_most", "at_least"])
    if not tests or (len(tests) > 1 and ("is" in tests or "includes" in tests)):
        raise ConditionError(field, "an answer condition needs one test: is, includes, or at_most/at_least")
    if tests == ["is"]:
        key = _answer_key(raw["answer"], f"{field}.answer", ["yes_no", "text"])
        values = _one_or_many(raw["is"], f"{field}.is")
        if key in _ALLOWED_VALUES:
            values = _choose(values, f"{field}.is", _ALLOWED_VALUES[key], f"value of {key}")
        return AnswerIs(key, values)
    if tests == ["includes"]:
        key = _answer_key(raw["answer"], f"{field}.answer", ["list"])
        values = _one_or_many(raw["includes"], f"{field}.includes")
        if key in _ALLOWED_VALUES:
            values = _choose(values, f"{field}.includes", _ALLOWED_VALUES[key], f"value of {key}")
        return AnswerIncludes(key, tuple(map(str, values)))
    key = _answer_key(raw["answer"], f"{field}.answer", ["number"])
    bounds = {t: _number_or_setting(raw[t], f"{field}.{t}", context) for t in tests}
    return AnswerBetween(key, bounds.get("at_least"), bounds.get("at_most"))


def _parse_medication_class(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    _only(raw, field, ["medication_class", "current", "within_months"])
    classes = _choose(
        _one_or_many(raw["medication_class"], f"{field}.medication_class"),
        f"{field}.medication_class",
        DRUG_CLASSES,
        "drug class",
    )
    if "current" in raw and "within_months" in raw:
        raise ConditionError(field, "use either current: true or within_months, not both")
    if "current" in raw and raw["current"] is not True:
        raise ConditionError(f"{field}.current", "may only be true (leave it out to count any mention)")
    within = (
        _number_or_setting(raw["within_months"], f"{field}.within_months", context) if "within_months" in raw else None
    )
    return MedicationClass(classes, current="current" in raw, within_months=within)


def _parse_unrecognised(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    _only(raw, field, ["unrecognised_medication"])
    if raw["unrecognised_medication"] is not True:
        raise ConditionError(f"{field}.unrecognised_medication", "may only be true")
    return UnrecognisedMedication()


def _parse_any_answer(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    _only(raw, field, ["any_answer", "keys"])
    value = _norm(raw["any_answer"])
    if value not in YES_NO_VALUES:
        raise ConditionError(f"{field}.any_answer", f"must be one of {', '.join(YES_NO_VALUES)}, got {value!r}")
    # By default: every yes/no question, and the further-checks question (whose "not sure" is a list item).
    keys = raw.get("keys", [*YES_NO_KEYS, "further_checks"])
    if not isinstance(keys, list) or not keys:
        raise ConditionError(f"{field}.keys", "must be a non-empty list of answer keys")
    for i, key in enumerate(keys):
        _answer_key(key, f"{field}.keys[{i}]", ["yes_no", "list"])
    return AnyAnswer(value, tuple(keys))


def _parse_flag(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    _only(raw, field, ["flag"])
    return Flag(_answer_key(raw["flag"], f"{field}.flag", ["flag"]))


def _parse_volunteered(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    _only(raw, field, ["volunteered"])
    code = raw["volunteered"]
    if not isinstance(code, str) or code not in context.codes:
        raise ConditionError(f"{field}.volunteered", f"{code!r} is not a rule code in this file")
    return Volunteered(code)


def _parse_group(raw: Mapping[str, Any], field: str, context: ParseContext) -> Condition:
    (head,) = [k for k in ("any", "all") if k in raw]
    _only(raw, field, [head])
    items = raw[head]
    if not isinstance(items, list) or not items:
        raise ConditionError(f"{field}.{head}", "must be a non-empty list of conditions")
    parsed = tuple(parse(item, f"{field}.{head}[{i}]", context) for i, item in enumerate(items))
    return AnyOf(parsed) if head == "any" else AllOf(parsed)


_PARSERS: Mapping[str, Callable[[Mapping[str, Any], str, ParseContext], Condition]] = {
    "answer": _parse_answer,
    "medication_class": _parse_medication_class,
    "unrecognised_medication": _parse_unrecognised,
    "any_answer": _parse_any_answer,
    "flag": _parse_flag,
    "volunteered": _parse_volunteered,
    "any": _parse_group,
    "all": _parse_group,
}
