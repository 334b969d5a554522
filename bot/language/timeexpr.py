"""Time in clients' words: is it now or in the past, and how many months ago ("stopped roaccutane two years ago")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import List, Optional, Tuple

CURRENT = "current"
PAST = "past"

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "eighteen": 18,
    "twenty": 20,
    "thirty": 30,
    "couple": 2,
    "a couple": 2,
    "a couple of": 2,
    "couple of": 2,
    "few": 3,
    "a few": 3,
    "several": 4,
    "half a": 0.5,
    "a half": 0.5,
    "a dozen": 12,
    "many": 5,
    "some": 3,
}
# months per unit; a week is 12/52 of a month
_UNITS = {
    "day": 1 / 30,
    "days": 1 / 30,
    "d": 1 / 30,
    "week": 12 / 52,
    "weeks": 12 / 52,
    "wk": 12 / 52,
    "wks": 12 / 52,
    "w": 12 / 52,
    "month": 1.0,
    "months": 1.0,
    "mo": 1.0,
    "mos": 1.0,
    "mth": 1.0,
    "mths": 1.0,
    "mnth": 1.0,
    "mnths": 1.0,
    "m": 1.0,
    "year": 12.0,
    "years": 12.0,
    "yr": 12.0,
    "yrs": 12.0,
    "y": 12.0,
    "yo": 12.0,
}
_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        )
    )
}
_MONTHS.update({name[:3]: num for name, num in list(_MONTHS.items())})
_MONTHS["sept"] = 9
del _MONTHS["may"]  # "may" is a verb far more often than a month; "in May" is handled below
_MONTH_ALT = "|".join(sorted(list(_MONTHS) + ["may"], key=len, reverse=True))

_NUM = r"(?P<num>\d+(?:\.\d+)?|" + "|".join(sorted((re.escape(k) for k in _NUMBER_WORDS), key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")"
_MOD = (
    r"(?:(?P<mod>over|more than|more then|just over|at least|about|around|roughly|approx(?:imately)?|nearly|"
    r"almost|under|less than|just under|maybe|probably|~)\s+)?"
)
_AND_HALF = r"(?P<half>\s+and\s+a\s+half)?"

# "2 years ago", "a few months back", "18 months before", "six weeks previously"
_AGO = re.compile(
    r"\b"
    + _MOD
    + _NUM
    + _AND_HALF
    + r"\s*(?:-\s*)?"
    + _UNIT
    + _AND_HALF.replace("half", "half2")
    + r"\s+(?:ago|back|before|previously|since)\b"
)
# "been off it for 2 years", "stopped 3 months", "haven't taken it for six months", "it's been a year since"
_OFF_FOR = re.compile(
    r"(?:off (?:it|them|that|roaccutane|accutane|isotretinoin)?\s*(?:for|now for)?|stopped|finished|"
    r"not (?:taken|had|used) (?:it|them|any)? ?(?:for|in)|n't (?:taken|had|used) (?:it|them|any)? "
    r"?(?:for|in)|"
    r"been|it's been|its been|it has been)\s+" + _MOD + _NUM + _AND_HALF + r"\s*" + _UNIT + r"\b"
)
_LAST = re.compile(
    r"\b(?:last|this past|past|previous)\s+(?P<what>week|month|year|summer|winter|spring|autumn|fall|"
    r"christmas|xmas|easter|weekend|night)\b"
)
_RELATIVE = [
    (re.compile(r"\byesterday\b|\blast night\b|\bthe other day\b|\bfew days ago\b|\bdays ago\b"), 0.1),
    (re.compile(r"\bthe other week\b|\ba week or two ago\b|\bcouple of weeks\b"), 0.5),
    (re.compile(r"\bearlier this (?:month|week)\b|\bthis month\b|\bthis week\b"), 0.25),
    (re.compile(r"\ba year and a half ago\b|\byear and a half ago\b"), 18.0),
    (re.compile(r"\b(?:a year|one year) ago\b"), 12.0),
    (re.compile(r"\ba few years ago\b|\bfew years ago\b|\bfew years back\b"), 36.0),
    (re.compile(r"\bcouple of years ago\b|\bcouple years ago\b"), 24.0),
    (re.compile(r"\b(?:many|several|lots of|loads of) years ago\b|\byears and years ago\b"), 60.0),
    (re.compile(r"\byears ago\b|\byears back\b|\bfor years now\b"), 24.0),
    (re.compile(r"\ba few months ago\b|\bfew months ago\b|\bfew months back\b"), 3.0),
    (re.compile(r"\bcouple of months ago\b|\bcouple months ago\b"), 2.0),
    (re.compile(r"\bmonths ago\b"), 3.0),
    (re.compile(r"\bweeks ago\b|\ba few weeks\b"), 0.75),
    (
        re.compile(
            r"\b(?:just|recently|only just) (?:stopped|finished|came off|come off|completed|ended|quit)\b|"
            r"\brecently\b|\bnot long ago\b"
        ),
        1.0,
    ),
]
# past with no date: "took accutane in my teens" is past and not recent, however long ago exactly
_VAGUE_PAST = re.compile(
    r"\b(?:in my (?:teens|twenties|20s|thirties|30s|youth|late teens|early twenties)|as a (?:teenager|teen|kid|child)|"
    r"when i was (?:younger|a teenager|a teen|a kid|little|at school|at uni|in school|at college|\d+|[a-z]+teen)|"
    r"at school|in school|at uni|at university|at college|in (?:my )?(?:high school|secondary school|sixth form)|"
    r"ages ago|a long time ago|long time ago|long ago|a while ago|a while back|way back|back in the day|"
    r"in the past|previously|years before|once before|a long while ago)\b"
)
_START = re.compile(
    r"\b(?:started|start|began|begun|been on|been taking|been using|since|on it for|taking it for|"
    r"switched to|switched onto|switched over to|moved on to|moved to|changed to|put on|put me on|"
    r"started on|"
    r"on them for|had it for|had them for)\b[^.;]{0,20}$"
)
_YEAR = re.compile(
    r"\b(?:in|back in|since|until|till|during|from|of|stopped in|finished in|around|"
    r"about)?\s*(?P<year>(?:19|20)\d\d)\b"
)
_MONTH_NAME = re.compile(
    r"\b(?:in|since|until|till|end of|start of|beginning of|around|last|stopped in|finished in)\s+"
    r"(?P<month>" + _MONTH_ALT + r")\b(?:\s+(?P<year>(?:19|20)\d\d))?"
)

_CURRENT_CUES = re.compile(
    r"\b(?:i'm on|i am on|im on|i'm currently|currently|at the moment|atm|at the minute|right now|still|"
    r"i'm taking|i am taking|im taking|i take|i use|i'm using|taking|been on|been taking|on it now|these days|"
    r"nowadays|ongoing|at present|presently|every day|everyday|daily|each day|every morning|every night|now|today|"
    r"this week|i've got|ive got|i have got|i have a|i've a|got one|have one|flaring|flare|flared up|flare-up|"
    r"playing up|acting up|just started|started|i'm|i am|im|i have|i've been|ive been|i get|i suffer|suffer)\b"
)
_STRONG_CURRENT = re.compile(
    r"\b(?:(?:need to|have to|should i|do i|must i|will i have to) (?:stop|pause|come off)|"
    r"currently|at the moment|atm|at the minute|right now|still|now|today|this week|lately|"
    r"i've got|ive got|i have got|i've a|got a|these days|"
    r"on it now|i'm on|i am on|im on|just started|i'm taking|i am taking|im taking)\b"
)
_PAST_CUES = re.compile(
    r"\b(?:stopped|stop taking|finished|came off|come off|quit|ended|completed|used to|was on|were on|took|had|"
    r"tried|did a course|did|got rid|cleared up|cleared|healed|gone now|went away|was prescribed|was given|"
    r"no longer|not anymore|not any more|anymore|any more|ago|last (?:year|month|week|summer|winter|spring|autumn)|"
    r"before(?!\s+(?:the|my|a|your|it|microneedling|treatment|then|that|i|we|you|having|starting|booking))|"
    r"in the past|previously|years back|back in|when i was|in my teens|as a teenager|was|were|got rid|got better)\b"
)


@dataclass(frozen=True)
class TimeReading:
    status: Optional[str]  # current | past | None (no cue)
    months_ago: Optional[float]  # months since it ended, when the text says; None when current or unknown
    vague_past: bool = False  # past with no date ("in my teens"): past, not recent


def _number(raw: str) -> float:
    raw = raw.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    return float(_NUMBER_WORDS.get(raw, 1))


def _scaled(match: re.Match[str]) -> float:
    value = _number(match.group("num"))
    groups = match.groupdict()
    if groups.get("half") or groups.get("half2"):
        value += 0.5
    months = value * _UNITS[match.group("unit")]
    mod = (groups.get("mod") or "").strip()
    if mod in ("over", "more than", "more then", "just over", "at least"):
        months *= 1.1  # "more than 6 months ago" is outside a 6-month window
    elif mod in ("under", "less than", "just under", "nearly", "almost"):
        months *= 0.9
    return round(months, 2)


def _months_between(year: int, month: int, today: date) -> float:
    return max(0.0, (today.year - year) * 12 + (today.month - month))


def _last(what: str, today: date) -> float:
    fixed = {"week": 0.25, "weekend": 0.1, "night": 0.03, "month": 1.0, "year": 12.0}
    if what in fixed:
        return fixed[what]
    middle = {
        "summer": 7,
        "winter": 1,
        "spring": 4,
        "autumn": 10,
        "fall": 10,
        "christmas": 12,
        "xmas": 12,
        "easter": 4,
    }[what]
    gap = (today.month - middle) % 12
    return float(gap if gap >= 2 else gap + 12)


def find_months(text: str, today: Optional[date] = None) -> Optional[Tuple[float, int, int, bool]]:
    """The first time expression: (months ago, start, end, is_start_time). is_start_time: "started 3 months ago"."""
    today = today or date.today()
    low = text.lower().replace("\u2019", "'")
    found: List[Tuple[int, int, float]] = []
    for m in _AGO.finditer(low):
        found.append((m.start(), m.end(), _scaled(m)))
    for m in _OFF_FOR.finditer(low):
        found.append((m.start(), m.end(), _scaled(m)))
    for m in _LAST.finditer(low):
        found.append((m.start(), m.end(), _last(m.group("what"), today)))
    for m in _MONTH_NAME.finditer(low):
        name = m.group("month")
        month = 5 if name == "may" else _MONTHS[name]
        year = int(m.group("year")) if m.group("year") else (today.year if month <= today.month else today.year - 1)
        found.append((m.start(), m.end(), float(max(0.5, _months_between(year, month, today)))))
    for m in _YEAR.finditer(low):
        year = int(m.group("year"))
        if year > today.year or any(s <= m.start("year") < e for s, e, _ in found):
            continue
        months = _months_between(year, 7, today) if year < today.year else max(0.5, (today.month - 1) / 2)
        found.append((m.start("year"), m.end(), float(months)))
    for pattern, months in _RELATIVE:
        for m in pattern.finditer(low):
            if not any(s <= m.start() < e or m.start() <= s < m.end() for s, e, _ in found):
                found.append((m.start(), m.end(), months))
    if not found:
        return None
    start, end, months = sorted(found)[0]
    # a duration ("I was on it for 6 months") is not a time ago; "been on it since 2020" is a start, not an end
    is_start = bool(_START.search(low[:start])) and not re.search(
        r"\b(?:off|stopped|finished|quit|ended|completed|not|n't)\b", low[max(0, start - 25) : end]
    )
    return months, start, end, is_start


def months_ago(text: str, today: Optional[date] = None) -> Optional[float]:
    """Months since the thing the text talks about ended; 0.0 when it says it is current; None when it does not say.

    "stopped roaccutane two years ago" -> 24.0; "finished accutane last month" -> 1.0; "I'm on isotretinoin" -> 0.0;
    "took accutane in my teens" -> None (past, date unknown: callers treat it as not recent).
    """
    reading = read_time(text, today)
    if reading.months_ago is not None:
        return reading.months_ago
    if reading.status == CURRENT:
        return 0.0
    return None


def read_time(text: str, today: Optional[date] = None) -> TimeReading:
    """Now or past, and months ago, for one clause of a client's message."""
    low = " " + text.lower().replace("\u2019", "'") + " "
    found = find_months(low, today)
    vague = bool(_VAGUE_PAST.search(low))
    if found is not None:
        months, _, _, is_start = found
        if is_start:
            return TimeReading(CURRENT, None)
        if re.search(r"\b(?:still|currently|at the moment|right now)\b", low) and not re.search(
            r"\b(?:stopped|finished|came off|come off|quit|ended|completed|no longer|not anymore)\b", low
        ):
            return TimeReading(CURRENT, None)  # "had a DVT in 2021 and they put me on rivaroxaban, which I'm still on"
        if months < 0.05 and not _PAST_CUES.search(low):
            return TimeReading(CURRENT, None)
        return TimeReading(PAST, months)
    strong_now = bool(_STRONG_CURRENT.search(low)) and not re.search(
        r"\b(?:not|n't|no) (?:now|at the moment|"
        r"currently)\b|\bnow (?:finished|stopped|"
        r"off)\b",
        low,
    )
    past = bool(_PAST_CUES.search(low)) or vague
    if strong_now:
        return TimeReading(CURRENT, None)
    if past:
        return TimeReading(PAST, None, vague_past=True)
    if _CURRENT_CUES.search(low):
        return TimeReading(CURRENT, None)
    return TimeReading(None, None)
