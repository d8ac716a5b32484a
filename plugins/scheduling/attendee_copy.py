"""What an attendee keeps in their calendar: the organiser's event, with their own alarms.

The copy is the organiser's object without METHOD, the organiser's alarms or
the server's status parameters. When an update or other attendees' answers
replace it, the alarms the attendee set on their copy stay: per instance, and
a newly overridden instance keeps the series' alarms.
"""

from __future__ import annotations

import icalendar

from plugins.scheduling import itip

_ALARM = "VALARM"


def attendee_copy(calendar: icalendar.Calendar) -> icalendar.Calendar:
    copy = itip.request(calendar)
    copy.pop("METHOD")
    return copy


def with_own_alarms(copy: icalendar.Calendar, existing: icalendar.Calendar) -> icalendar.Calendar:
    """``copy`` with the VALARMs of the attendee's ``existing`` copy in place of its own."""
    alarms = {
        key: [c for c in component.subcomponents if c.name == _ALARM]
        for key, component in itip.by_instance(existing).items()
    }
    for key, component in itip.by_instance(copy).items():
        kept = [c for c in component.subcomponents if c.name != _ALARM]
        component.subcomponents = kept + alarms.get(key, alarms.get("", []))
    return copy


def personalised(copy_text: str, existing_text: str | None) -> str:
    """``copy_text`` to store over ``existing_text``; parsed only when there are alarms to
    keep, which most copies have not."""
    if not existing_text or f"BEGIN:{_ALARM}" not in existing_text:
        return copy_text
    copy, existing = itip.parse(copy_text), itip.parse(existing_text)
    if copy is None or existing is None:
        return copy_text
    return with_own_alarms(copy, existing).to_ical().decode()
