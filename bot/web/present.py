"""How the staff pages show things: times in the clinic's zone, answer labels, statuses in words."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import settings as settings_module
from bot.dialogue import questions as _questions

ANSWER_LABELS = {
    "consent": "Consent to health questions",
    "name": "Name",
    "contact": "Contact",
    "contact_email": "Email",
    "contact_phone": "Phone",
    "concerns": "Concerns",
    "concerns_other": "Other concern",
    "area": "Treatment area",
    "medications": "Medicines",
    "medication_facts": "Medicines recognised",
    "unrecognised_medications": "Medicines not recognised",
    "blood_thinners": "Blood thinners",
    "bleeding_disorder": "Bleeding or clotting disorder",
    "herpes_history": "Cold sores ever",
    "herpes_active": "Cold sore now",
    "keloid": "Keloid or raised scars",
    "active_acne": "Active acne now",
    "isotretinoin": "Isotretinoin recently",
    "isotretinoin_months_ago": "Isotretinoin, months since",
    "pregnancy": "Pregnant or breastfeeding",
    "skin_infection": "Infection, flare or wound in the area",
    "further_checks": "Further checks that apply",
    "notes": "Anything else",
    "requested_human": "Asked for a person",
    "volunteered": "Mentioned along the way",
    "confirmed": "Confirmed the summary",
}
# the questions' own labels are declared with them (data/questions.yml); the rest are the store's derived answers
ANSWER_LABELS.update(_questions.staff_labels())
STATUS_WORDS = {
    "in_progress": "In progress",
    "complete": "Complete",
    "abandoned": "Abandoned",
    "handed_off": "Handed to a person",
    "new": "New",
    "claimed": "Claimed",
    "contacted": "Contacted",
    "closed": "Closed",
    None: "—",
}
OUTCOME_WORDS = {"clear": "Clear", "review": "Review", "defer": "Defer", None: "Not judged"}
# on a referral whose client left part-way (idle expiry or a restart): its reasons come from the answers given so far
INCOMPLETE_MARKER = "Incomplete: the client did not finish the questions"


@lru_cache(maxsize=4)
def _zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def zone() -> Any:
    return _zone(settings_module.get().time_zone)


def local(value: Optional[Any]) -> Optional[datetime]:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone())


def when(value: Optional[Any], fmt: str = "%d %b %Y, %H:%M") -> str:
    moment = local(value)
    return moment.strftime(fmt) if moment else "—"


def clock(value: Optional[Any]) -> str:
    return when(value, "%H:%M:%S")


def iso(value: Optional[Any]) -> str:
    moment = local(value)
    return moment.isoformat() if moment else ""


def age(value: Optional[Any], now: Optional[datetime] = None) -> str:
    moment = local(value)
    if moment is None:
        return "—"
    seconds = ((now or datetime.now(timezone.utc)) - moment).total_seconds()
    if seconds < 3600:
        return f"{max(0, int(seconds // 60))} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def day_bounds(since: Optional[date], until: Optional[date]) -> Tuple[Optional[datetime], Optional[datetime]]:
    """Whole days in the clinic's zone, as UTC bounds: [since 00:00, the day after until 00:00)."""
    z = zone()
    start = datetime.combine(since, time.min, tzinfo=z).astimezone(timezone.utc) if since else None
    end = datetime.combine(until + timedelta(days=1), time.min, tzinfo=z).astimezone(timezone.utc) if until else None
    return start, end


def parse_day(raw: Optional[str]) -> Optional[date]:
    """A YYYY-MM-DD from a form, or None for anything else (bad input is ignored, never an error page)."""
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def answer_label(key: str) -> str:
    return ANSWER_LABELS.get(key, key.replace("_", " ").capitalize())


def answer_text(value: Any) -> str:
    """An answer as plain text (the template escapes it)."""
    if value is None:
        return "—"
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if isinstance(value, str):
        return {"yes": "Yes", "no": "No", "unsure": "Not sure"}.get(value, value)
    if isinstance(value, list):
        if not value:
            return "None"
        return "; ".join(answer_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {answer_text(v)}" for k, v in value.items())
    return json.dumps(value, ensure_ascii=False)


def _medicine(fact: Any) -> str:
    if not isinstance(fact, dict):
        return answer_text(fact)
    name = str(fact.get("name") or fact.get("generic") or "?")
    parts = [str(fact["drug_class"])] if fact.get("drug_class") else []
    if fact.get("current") is True:
        parts.append("taking now")
    elif fact.get("months_ago") is not None:
        parts.append(
            f"stopped {fact['months_ago']:g} months ago" if isinstance(fact["months_ago"], (int, float)) else "stopped"
        )
    return f"{name} ({', '.join(parts)})" if parts else name


def _volunteered(item: Any) -> str:
    if not isinstance(item, dict):
        return answer_text(item)
    confirmed = {True: "confirmed", False: "not confirmed", None: "not asked"}.get(item.get("confirmed"), "")
    return f"“{item.get('mention') or ''}” ({item.get('code') or '?'}, {confirmed})"


def _codes(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v).replace("_", " ").capitalize() for v in value) or "None"
    return answer_text(value)


SPECIAL = {
    "medication_facts": lambda v: "; ".join(_medicine(f) for f in v) if isinstance(v, list) else answer_text(v),
    "volunteered": lambda v: "; ".join(_volunteered(i) for i in v) if isinstance(v, list) else answer_text(v),
    "concerns": _codes,
    "further_checks": _codes,
}


def answer_rows(answers: dict) -> List[Tuple[str, str]]:
    order = list(ANSWER_LABELS)
    keys = sorted(answers, key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(answer_label(k), SPECIAL.get(k, answer_text)(answers[k])) for k in keys]


def status_word(value: Optional[str]) -> str:
    return STATUS_WORDS.get(value, value or "—")


def outcome_word(value: Optional[str]) -> str:
    return OUTCOME_WORDS.get(value, value or "—")


# what practitioners write about a referral: only roles that read referrals see it (pages and API alike)
PRACTITIONER_NOTE_FIELDS = ("outcome_note",)


def without_practitioner_notes(shown: dict) -> dict:
    """show()'s JSON with the practitioners' notes blanked (the fields stay, as null): what reception sees."""
    if not shown.get("referral"):
        return shown
    trimmed = copy.deepcopy(shown)
    for field in PRACTITIONER_NOTE_FIELDS:
        if field in trimmed["referral"]:
            trimmed["referral"][field] = None
    return trimmed


def privacy_facts() -> dict:
    """What the privacy notice states about keeping data, from the settings that make it true."""
    settings = settings_module.get()
    return {"consentless_purge_hours": settings.consentless_purge_hours}
