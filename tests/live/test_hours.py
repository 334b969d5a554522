"""Opening hours: open now / next opening, a pure function of the hours and a given time (bot/live/hours.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot import settings
from bot.live import hours

WEEK = {
    "timezone": "Europe/London",
    "monday": "09:00-18:00",
    "tuesday": "09:00-18:00",
    "wednesday": "09:00-13:00, 14:00-18:00",
    "thursday": "09:00-18:00",
    "friday": "09:00-18:00",
    "saturday": "10:00-14:00",
    "sunday": "closed",
    "closed_dates": ["2026-12-25"],
}
HOURS = hours.parse(WEEK)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "moment, open_",
    [
        (utc(2026, 12, 1, 9, 0), True),  # Tuesday 9:00 in London (GMT in winter)
        (utc(2026, 12, 1, 8, 59), False),
        (utc(2026, 12, 1, 18, 0), False),  # closes at 18:00: 18:00 is closed
        (utc(2026, 12, 2, 13, 30), False),  # Wednesday's lunch break
        (utc(2026, 12, 2, 14, 0), True),
        (utc(2026, 12, 5, 13, 59), True),  # Saturday
        (utc(2026, 12, 6, 12, 0), False),  # Sunday
        (utc(2026, 12, 25, 12, 0), False),  # a closed date (a Friday)
        (utc(2026, 7, 1, 8, 30), True),  # summer time: 9:30 in London
        (utc(2026, 7, 1, 17, 30), False),  # 18:30 in London
    ],
)
def test_open_now(moment: datetime, open_: bool) -> None:
    assert hours.is_open(HOURS, moment) is open_


@pytest.mark.parametrize(
    "moment, expected_local",
    [
        (utc(2026, 12, 1, 7, 0), (2026, 12, 1, 9, 0)),  # before opening: today
        (utc(2026, 12, 1, 19, 0), (2026, 12, 2, 9, 0)),  # after closing: tomorrow
        (utc(2026, 12, 2, 13, 15), (2026, 12, 2, 14, 0)),  # over lunch: after lunch
        (utc(2026, 12, 5, 15, 0), (2026, 12, 7, 9, 0)),  # Saturday afternoon: Monday (Sunday closed)
        (utc(2026, 12, 24, 19, 0), (2026, 12, 26, 10, 0)),  # Christmas Day closed: Saturday 26th at 10
        (utc(2026, 7, 1, 17, 30), (2026, 7, 2, 9, 0)),  # summer time
    ],
)
def test_next_opening(moment: datetime, expected_local: tuple) -> None:
    opening = hours.next_opening(HOURS, moment)
    assert opening is not None
    assert (opening.year, opening.month, opening.day, opening.hour, opening.minute) == expected_local
    assert opening.utcoffset() == opening.astimezone(HOURS.zone).utcoffset()


def test_next_opening_when_open_is_now() -> None:
    moment = utc(2026, 12, 1, 10, 0)
    assert hours.next_opening(HOURS, moment) == moment


def test_a_clinic_that_never_opens_has_no_next_opening() -> None:
    never = hours.parse({"timezone": "Europe/London"})
    assert not hours.is_open(never, utc(2026, 12, 1, 10, 0))
    assert hours.next_opening(never, utc(2026, 12, 1, 10, 0)) is None


def test_describe_says_today_tomorrow_or_the_day() -> None:
    now = utc(2026, 12, 1, 7, 0)
    assert hours.describe(hours.next_opening(HOURS, now), now) == "today at 9:00"
    later = utc(2026, 12, 1, 19, 0)
    assert hours.describe(hours.next_opening(HOURS, later), later) == "tomorrow at 9:00"
    saturday = utc(2026, 12, 5, 15, 0)
    assert hours.describe(hours.next_opening(HOURS, saturday), saturday) == "on Monday 7 December at 9:00"


@pytest.mark.parametrize(
    "raw, field",
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "Europe/London", "monday": "9-18"}, "monday"),
        ({"timezone": "Europe/London", "monday": "18:00-09:00"}, "monday"),
        ({"timezone": "Europe/London", "funday": "09:00-18:00"}, "funday"),
        ({"timezone": "Europe/London", "closed_dates": ["25 December"]}, "closed_dates"),
    ],
)
def test_bad_hours_are_refused_naming_the_field(raw: dict, field: str) -> None:
    with pytest.raises(hours.HoursError, match=field):
        hours.parse(raw)


def test_the_clinic_file_has_hours_that_match_its_text() -> None:
    clinic_hours = hours.load(settings.get().clinic_file)
    assert clinic_hours.timezone == "Europe/London"
    assert hours.is_open(clinic_hours, utc(2026, 12, 1, 12, 0))  # a Tuesday noon
    assert not hours.is_open(clinic_hours, utc(2026, 12, 6, 12, 0))  # a Sunday
    assert "Saturday, 10am to 2pm" in settings.get().clinic.hours
    assert hours.is_open(clinic_hours, utc(2026, 12, 5, 10, 0))
    assert not hours.is_open(clinic_hours, utc(2026, 12, 5, 14, 0))
