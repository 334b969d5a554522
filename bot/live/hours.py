"""The clinic's opening hours: read from data/clinic.yml (`opening_hours`), and whether it is open now or when next.

    opening_hours:
      timezone: Europe/London
      monday: "09:00-18:00"        # one or more "HH:MM-HH:MM" ranges, comma-separated; "closed" or absent: closed
      ...
      closed_dates: ["2026-12-25"] # whole days closed (holidays), in the clinic's zone

`is_open(hours, now)` and `next_opening(hours, now)` are pure: they read no clock and no file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Range = Tuple[time, time]


class HoursError(ValueError):
    """The opening hours in the clinic file cannot be read; the message names the field."""


@dataclass(frozen=True)
class OpeningHours:
    timezone: str
    week: Tuple[Tuple[Range, ...], ...]  # seven entries, Monday first
    closed_dates: FrozenSet[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _time(text: str, where: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        if text.strip() == "24:00":
            return time.max
        return time(int(hours), int(minutes))
    except ValueError:
        raise HoursError(f"{where}: expected HH:MM, got {text!r}") from None


def _ranges(value: Any, where: str) -> Tuple[Range, ...]:
    if value is None or str(value).strip().lower() in ("", "closed"):
        return ()
    ranges = []
    for part in str(value).split(","):
        if "-" not in part:
            raise HoursError(f"{where}: expected a range like 09:00-18:00, got {part.strip()!r}")
        start, end = (_time(p, where) for p in part.split("-", 1))
        if end <= start:
            raise HoursError(f"{where}: {part.strip()!r} ends before it starts")
        ranges.append((start, end))
    return tuple(sorted(ranges))


def parse(raw: Mapping[str, Any], source: str = "opening_hours") -> OpeningHours:
    if not isinstance(raw, Mapping):
        raise HoursError(f"{source}: expected a mapping of days to hours")
    zone = str(raw.get("timezone") or "").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"{source}.timezone: unknown time zone {zone!r} (e.g. Europe/London)") from None
    unknown = set(raw) - set(DAYS) - {"timezone", "closed_dates"}
    if unknown:
        raise HoursError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
    week = tuple(_ranges(raw.get(day), f"{source}.{day}") for day in DAYS)
    closed = set()
    for item in raw.get("closed_dates") or []:
        try:
            closed.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            raise HoursError(f"{source}.closed_dates: expected YYYY-MM-DD, got {item!r}") from None
    return OpeningHours(zone, week, frozenset(closed))


def load(path: Path) -> OpeningHours:
    raw: Dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if "opening_hours" not in raw:
        raise HoursError(f"{path}: no opening_hours (see bot/live/hours.py for the shape)")
    return parse(raw["opening_hours"], f"{path}: opening_hours")


def _local(hours: OpeningHours, now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(hours.zone)


def _day_ranges(hours: OpeningHours, day: date) -> Tuple[Range, ...]:
    return () if day in hours.closed_dates else hours.week[day.weekday()]


def is_open(hours: OpeningHours, now: datetime) -> bool:
    local = _local(hours, now)
    clock = local.time().replace(tzinfo=None)
    return any(start <= clock < end for start, end in _day_ranges(hours, local.date()))


def next_opening(hours: OpeningHours, now: datetime) -> Optional[datetime]:
    """When the clinic next opens after `now` (aware, in the clinic's zone); `now` itself when open; None when it
    never opens (no hours at all, within the next 400 days)."""
    if is_open(hours, now):
        return _local(hours, now)
    local = _local(hours, now)
    for offset in range(0, 400):
        day = local.date() + timedelta(days=offset)
        for start, _end in _day_ranges(hours, day):
            candidate = datetime.combine(day, start, tzinfo=hours.zone)
            if candidate > local:
                return candidate
    return None


def describe(moment: datetime, now: datetime) -> str:
    """A client-facing "today at 9:00", "tomorrow at 10:00" or "on Monday 7 December at 9:00" (both in one zone)."""
    now = now.astimezone(moment.tzinfo)
    clock = f"{moment.hour}:{moment.minute:02d}"
    if moment.date() == now.date():
        return f"today at {clock}"
    if moment.date() == now.date() + timedelta(days=1):
        return f"tomorrow at {clock}"
    return f"on {moment.strftime('%A')} {moment.day} {moment.strftime('%B')} at {clock}"
