"""Busy time of one calendar object resource, without any of its details (RFC 5545 free/busy).

One object (one UID: a VEVENT with its RECURRENCE-ID overrides, maybe VFREEBUSY
components, VTIMEZONEs) becomes the sorted, merged busy periods it puts into a
window, in UTC. Recurrences (RRULE, RDATE, EXDATE, moved and cancelled
occurrences) are expanded by ``recurring-ical-events``, which keeps the
wall-clock time of a TZID series across DST changes, within the bounds of
plugins/recurrence.py (a series repeating too often counts with its first instance).

Whether an occurrence blocks, and how (first rule that applies wins):

1. STATUS:CANCELLED: ignored (a whole series, or one occurrence through its override).
2. The calendar's owner (one of ``attendee_addresses``) is an ATTENDEE with
   PARTSTAT=DECLINED: ignored.
3. TRANSP:TRANSPARENT, or Outlook's X-MICROSOFT-CDO-BUSYSTATUS FREE or
   WORKINGELSEWHERE: ignored. Either property saying "free" makes it free.
4. All-day (DTSTART is a DATE) with neither TRANSP nor X-MICROSOFT-CDO-BUSYSTATUS:
   ignored. RFC 5545 makes OPAQUE the default for every event, but Apple
   Calendar, Google Calendar and Thunderbird create all-day events as free, and
   such a day is usually a memo ("working from home"), not a meeting; an all-day
   event blocks only when a client said so (TRANSP:OPAQUE, or BUSYSTATUS).
   Timed events keep the RFC default: missing TRANSP is OPAQUE.
5. X-MICROSOFT-CDO-BUSYSTATUS:OOF: BUSY-UNAVAILABLE.
6. BUSYSTATUS TENTATIVE, STATUS:TENTATIVE or the owner's PARTSTAT=TENTATIVE:
   BUSY-TENTATIVE. An invitation not yet answered (NEEDS-ACTION) stays BUSY.
7. Otherwise BUSY.

Times: TZID times are converted with their zone (the VTIMEZONE when the TZID is
not an IANA name), floating times and all-day dates are read in
``floating_zone`` (the organiser's zone), so an all-day event covers that day's
local midnight to midnight. Without DTEND an event lasts its DURATION, or one
day for a DATE start, or nothing for a DATE-TIME start (then it is ignored, as
is any zero-length occurrence). A series that cannot be expanded (no DTSTART, a
broken RRULE) is skipped; the rest of the object still counts. VFREEBUSY
components inside the object count with their FBTYPE (unknown types are BUSY,
as RFC 5545 §3.2.9 says). VTODO and VJOURNAL never make anyone busy.

Periods are clipped to the window. Text that is not iCalendar raises ValueError.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from operator import itemgetter
from typing import ClassVar
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from plugins import recurrence

BUSY, TENTATIVE, UNAVAILABLE = "BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE"
# Weakest first: where periods of several kinds overlap, the strongest is what the time is.
KINDS = (TENTATIVE, BUSY, UNAVAILABLE)
STRENGTH = {kind: rank for rank, kind in enumerate(KINDS)}
FBTYPES = {"FREE": None, BUSY: BUSY, TENTATIVE: TENTATIVE, UNAVAILABLE: UNAVAILABLE}

_FREE_BUSYSTATUS = frozenset({"FREE", "WORKINGELSEWHERE"})
_VTIMEZONE = re.compile(r"BEGIN:VTIMEZONE\r?\n.*?END:VTIMEZONE\r?\n", re.DOTALL)
_TZID = re.compile(r"^TZID:([^\r\n]*)\r?$", re.MULTILINE)


class _Occurrences(recurring_ical_events.CalendarQuery):
    """Skips a broken series (bad RRULE, VEVENT without DTSTART) instead of failing the object."""

    suppressed_errors: ClassVar = [*recurring_ical_events.CalendarQuery.suppressed_errors, KeyError]


@dataclass(frozen=True, order=True)
class Period:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC, > start
    kind: str = BUSY  # BUSY, TENTATIVE or UNAVAILABLE


def busy_periods(
    calendar: str | bytes | icalendar.Calendar,
    start: datetime,
    end: datetime,
    floating_zone: ZoneInfo,
    attendee_addresses: frozenset[str] = frozenset(),
) -> list[Period]:
    """The busy periods one calendar object puts into [start, end), merged and sorted.

    ``attendee_addresses`` are the owner's lower-case ``mailto:`` addresses, to
    find their own PARTSTAT. An already parsed calendar is accepted as is.
    """
    parsed = calendar if isinstance(calendar, icalendar.Calendar) else _parse(calendar)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    # The library reads floating and all-day times in the zone of the window it is given.
    occurrences = recurrence.occurrences(
        parsed,
        start.astimezone(floating_zone),
        end.astimezone(floating_zone),
        _Occurrences,
        skip_bad_series=True,
    )
    periods = [
        period
        for event in occurrences
        if (period := _event_period(event, floating_zone, attendee_addresses)) is not None
    ]
    periods.extend(_vfreebusy_periods(parsed))
    return merge(_clipped(periods, start, end))


def merge(periods: Iterable[Period]) -> list[Period]:
    """Sorted, non-overlapping periods: at each instant the strongest kind present wins.

    Adjacent or overlapping periods of one kind become one; where kinds overlap,
    the weaker is cut around the stronger (BUSY-UNAVAILABLE > BUSY > BUSY-TENTATIVE).
    One sort and one sweep over the boundaries.
    """
    boundaries: list[tuple[datetime, int, int]] = []
    for period in periods:
        rank = STRENGTH[period.kind]
        boundaries.append((period.start, rank, 1))
        boundaries.append((period.end, rank, -1))
    boundaries.sort(key=itemgetter(0))
    active = [0] * len(KINDS)  # periods open at this instant, per rank
    merged: list[Period] = []
    current: int | None = None
    since = None
    last = len(boundaries) - 1
    for index, (moment, rank, change) in enumerate(boundaries):
        active[rank] += change
        if index < last and boundaries[index + 1][0] == moment:
            continue  # settle every boundary at one instant before deciding
        strongest = 2 if active[2] else 1 if active[1] else 0 if active[0] else None
        if strongest != current:
            if current is not None:
                merged.append(Period(since, moment, KINDS[current]))
            current, since = strongest, moment
    return merged


def _parse(calendar: str | bytes) -> icalendar.Calendar:
    text = calendar.decode("utf-8", "replace") if isinstance(calendar, bytes) else calendar
    return icalendar.Calendar.from_ical(_without_known_timezones(text))


def _without_known_timezones(text: str) -> str:
    """Drop VTIMEZONEs of IANA zones: icalendar uses its own copy of those anyway.

    Parsing a VTIMEZONE costs more than parsing the event itself; the result is
    the same because icalendar resolves an IANA TZID to ``zoneinfo`` and only
    builds a zone from the VTIMEZONE for other names.
    """

    def keep_unknown(block: re.Match[str]) -> str:
        tzid = _TZID.search(block[0])
        return "" if tzid and tzid[1] in _iana_zones() else block[0]

    return _VTIMEZONE.sub(keep_unknown, text)


@functools.cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _event_period(event: icalendar.Event, zone: ZoneInfo, owner: frozenset[str]) -> Period | None:
    begin = event["DTSTART"].dt
    all_day = not isinstance(begin, datetime)
    kind = _kind(event, all_day, owner)
    if kind is None:
        return None
    start, end = _utc(begin, zone), _utc(event["DTEND"].dt, zone)
    return Period(start, end, kind) if end > start else None


def _kind(event: icalendar.Event, all_day: bool, owner: frozenset[str]) -> str | None:
    status = str(event.get("STATUS", "")).upper()
    partstat = _owner_partstat(event, owner)
    if status == "CANCELLED" or partstat == "DECLINED":
        return None
    transp = event.get("TRANSP")
    busystatus = event.get("X-MICROSOFT-CDO-BUSYSTATUS")
    transp = str(transp).upper() if transp is not None else None
    busystatus = str(busystatus).upper() if busystatus is not None else None
    if transp == "TRANSPARENT" or busystatus in _FREE_BUSYSTATUS:
        return None
    if all_day and transp is None and busystatus is None:
        return None
    if busystatus == "OOF":
        return UNAVAILABLE
    if "TENTATIVE" in (busystatus, status, partstat):
        return TENTATIVE
    return BUSY


def _owner_partstat(event: icalendar.Event, owner: frozenset[str]) -> str | None:
    if not owner:
        return None
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        if str(attendee).lower() in owner:
            return str(attendee.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def _vfreebusy_periods(calendar: icalendar.Calendar) -> list[Period]:
    periods = []
    for component in calendar.walk("VFREEBUSY"):
        values = component.get("FREEBUSY", [])
        for value in values if isinstance(values, list) else [values]:
            kind = FBTYPES.get(str(value.params.get("FBTYPE", BUSY)).upper(), BUSY)
            if kind is None:
                continue
            begin, finish = value.dt
            if isinstance(finish, timedelta):
                finish = begin + finish
            periods.append(Period(_utc(begin, UTC), _utc(finish, UTC), kind))
    return [period for period in periods if period.end > period.start]


def _utc(value: date | datetime, floating_zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), floating_zone).astimezone(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=floating_zone).astimezone(UTC)
    return value.astimezone(UTC)


def _clipped(periods: Iterable[Period], start: datetime, end: datetime) -> list[Period]:
    return [
        Period(max(period.start, start), min(period.end, end), period.kind)
        for period in periods
        if period.end > start and period.start < end
    ]
