"""Rescheduling (RFC 6638 §3.2.8): when an instance's time changes, attendees answer again.

A component is rescheduled when its DTSTART, DTEND, DURATION, DUE, RRULE or
RDATE changes, or an EXDATE goes (an instance comes back); a new override is
rescheduled when it moves its instance or changes its length. There the
server sets every attendee's PARTSTAT to NEEDS-ACTION, except the organiser's
and those the client schedules itself, before the organiser's copy is stored:
the attendees' copies and the updated invitations then ask again. A new
place or title raises SEQUENCE and sends an update (itip.SIGNIFICANT) but keeps
the answers, as the RFC's table and Apple's CalendarServer do.
"""

from __future__ import annotations

from datetime import timedelta

import icalendar

from plugins.scheduling import itip

TIMING = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE")
NEEDS_ACTION = "NEEDS-ACTION"


def rescheduled(old: icalendar.Calendar | None, new: icalendar.Calendar) -> list[str]:
    """The recurrence keys of the components of ``new`` whose instances moved."""
    if old is None:
        return []
    before = itip.by_instance(old)
    return [
        key
        for key, component in itip.by_instance(new).items()
        if _moved(before.get(key), before.get(""), component)
    ]


def reset_answers(calendar: icalendar.Calendar, keys: list[str], keep: set[str]) -> None:
    """PARTSTAT=NEEDS-ACTION on the server-scheduled attendees of the components ``keys``,
    except the addresses in ``keep`` (the organiser's)."""
    instances = itip.by_instance(calendar)
    for key in keys:
        for prop in itip.attendee_properties(instances[key]):
            if itip.address(prop) not in keep and itip.server_schedules(prop):
                prop.params["PARTSTAT"] = NEEDS_ACTION


def _moved(
    previous: icalendar.Component | None,
    master: icalendar.Component | None,
    component: icalendar.Component,
) -> bool:
    if previous is not None:
        return itip.changed(previous, component, TIMING, people=False) or bool(
            itip.exdates(previous) - itip.exdates(component)
        )
    if master is None or "RECURRENCE-ID" not in component or "DTSTART" not in component:
        return False
    start = itip.moment_key(component["DTSTART"].dt)
    return start != itip.recurrence_key(component) or _length(component) != _length(master)


def _length(component: icalendar.Component) -> timedelta | None:
    if "DURATION" in component:
        return component["DURATION"].dt
    if "DTEND" in component and "DTSTART" in component:
        return component["DTEND"].dt - component["DTSTART"].dt
    return None
