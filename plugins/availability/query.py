"""What an organiser asks: parsed from the CLI's options or the API's JSON, checked once.

Times without an offset are read in the organiser's zone; every bad value is
refused with the name of the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from davserver.accounts.directory import AccountError
from plugins.availability.settings import AvailabilitySettings
from plugins.availability.settings import zone as check_zone
from plugins.availability.slots import WorkingHours

_SPAN = re.compile(r"^(\d+)\s*([mhd]?)$")
_UNITS = {"": 60, "m": 60, "h": 3600, "d": 86400}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Query:
    attendees: tuple[str, ...]
    desired: datetime
    duration: timedelta
    window_start: datetime
    window_end: datetime
    zone: ZoneInfo
    working_hours: WorkingHours | None = None
    alternatives: int = 3


def span(value: str | int, name: str, default_unit: str = "m") -> timedelta:
    """``90`` (in ``default_unit``), ``60m``, ``2h`` or ``7d``."""
    match = _SPAN.match(str(value).strip().lower())
    if not match or int(match[1]) == 0:
        raise AccountError(f"{name}: expected a length such as 60m, 2h or 7d, got {value!r}")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2] or default_unit])


def moment(value: str, zone: ZoneInfo, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise AccountError(f"{name}: expected a date and time such as 2027-03-01T11:45") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def working_hours(value: str, zone: ZoneInfo) -> WorkingHours:
    """``Mon-Fri 08:00-18:00``."""
    match = _HOURS.match(value.strip())
    days = [match[1].lower(), (match[2] or match[1]).lower()] if match else []
    if not match or not all(day in _DAYS for day in days):
        raise AccountError(f"working_hours: expected e.g. 'Mon-Fri 08:00-18:00', got {value!r}")
    first, last = (_DAYS.index(day) for day in days)
    try:
        start, end = time(int(match[3]), int(match[4])), time(int(match[5]), int(match[6]))
    except ValueError:
        raise AccountError(f"working_hours: invalid time in {value!r}") from None
    if end <= start or last < first:
        raise AccountError(f"working_hours: {value!r} ends before it starts")
    return WorkingHours(frozenset(range(first, last + 1)), start, end, zone)


def build_query(
    attendees: list[str],
    start: str,
    duration: str | int,
    window: str | int = "7d",
    timezone: str | None = None,
    hours: str | None = None,
    alternatives: int = 3,
    *,
    settings: AvailabilitySettings,
) -> Query:
    max_attendees, max_window = settings.max_attendees, timedelta(days=settings.max_window_days)
    try:
        zone = ZoneInfo(check_zone(timezone or settings.timezone))
    except ValueError as error:
        raise AccountError(f"timezone: {error}") from None
    names = tuple(dict.fromkeys(a.strip() for a in attendees if a.strip()))
    if not names:
        raise AccountError("attendees: give at least one user name or email address")
    if len(names) > max_attendees:
        raise AccountError(f"attendees: at most {max_attendees} in one lookup")
    desired = moment(start, zone, "start")
    reach = span(window, "window", default_unit="d")
    if reach > max_window:
        raise AccountError(f"window: at most {max_window.days} days")
    if not 0 <= alternatives <= 20:
        raise AccountError("alternatives: expected a number from 0 to 20")
    return Query(
        names,
        desired,
        span(duration, "duration"),
        desired - reach,
        desired + reach,
        zone,
        working_hours(hours, zone) if hours else None,
        alternatives,
    )
