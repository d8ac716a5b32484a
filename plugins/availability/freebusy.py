"""Busy periods in standard form: a VFREEBUSY reply (RFC 5545 §3.6.4, RFC 5546 §3.3, RFC 6638).

The reply carries nothing but time: one FREEBUSY property per merged period, in
UTC, typed by FBTYPE, inside the queried DTSTART/DTEND, so any CalDAV client
that reads a schedule-response can read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import icalendar

from plugins.availability.busy import Period, merge

PRODID = "-//Murmeli//availability//EN"


def vfreebusy(
    attendee: str,
    organizer: str | None,
    start: datetime,
    end: datetime,
    periods: Sequence[Period],
    uid: str | None = None,
    stamp: datetime | None = None,
) -> icalendar.Calendar:
    """A METHOD:REPLY VCALENDAR with one VFREEBUSY for ``attendee`` over [start, end).

    Addresses without a scheme get ``mailto:``. ``uid`` and ``stamp`` default to
    a fresh UUID and now; pass them for a reproducible reply.
    """
    return reply_calendar(
        [freebusy_component(attendee, organizer, start, end, periods, uid, stamp)]
    )


def freebusy_component(
    attendee: str,
    organizer: str | None,
    start: datetime,
    end: datetime,
    periods: Sequence[Period],
    uid: str | None = None,
    stamp: datetime | None = None,
) -> icalendar.FreeBusy:
    """The VFREEBUSY component of ``vfreebusy``, for a reply about several attendees."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    component = icalendar.FreeBusy()
    component.add("uid", uid or str(uuid.uuid4()))
    component.add("dtstamp", (stamp or datetime.now(UTC)).astimezone(UTC))
    component.add("dtstart", start)
    component.add("dtend", end)
    if organizer:
        component.add("organizer", _cal_address(organizer))
    component.add("attendee", _cal_address(attendee))
    for period in merge(periods):
        if period.end > start and period.start < end:
            clipped = (max(period.start, start), min(period.end, end))
            component.add("freebusy", icalendar.vPeriod(clipped, params={"FBTYPE": period.kind}))
    return component


def reply_calendar(components: Iterable[icalendar.FreeBusy]) -> icalendar.Calendar:
    """The METHOD:REPLY VCALENDAR around ``components``."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    for component in components:
        calendar.add_component(component)
    return calendar


def _cal_address(address: str) -> str:
    return address if ":" in address else f"mailto:{address}"
