"""What an attendee keeps in their calendar: the organiser's event, with their own alarms.

The copy is the organiser's object without METHOD, the organiser's alarms or
the server's status parameters. When an update or other attendees' answers
replace it, the alarms the attendee set on their copy stay: per instance, and
a newly overridden instance keeps the series' alarms.

Only the attendee sets their own answer (RFC 6638 §3.2.1.1): whatever PARTSTAT
the organiser's copy holds for them, their copy says NEEDS-ACTION on a new
invitation and where an instance moved, and otherwise keeps the answer their
existing copy gave (per instance, else the series'); the invitation in their
inbox says the same.
"""

from __future__ import annotations

import icalendar

from plugins.scheduling import itip
from plugins.scheduling.reschedule import NEEDS_ACTION, rescheduled

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


def with_own_answers(
    copy: icalendar.Calendar, existing: icalendar.Calendar | None, own: set[str]
) -> icalendar.Calendar:
    """``copy`` with the PARTSTAT of the attendee (``own``: their addresses, itip.address)
    taken from their ``existing`` copy, or NEEDS-ACTION where they have not answered the
    instance as it now is."""
    answers = {
        key: prop.params.get("PARTSTAT", NEEDS_ACTION)
        for key, component in itip.by_instance(existing).items()
        for prop in itip.attendee_properties(component)
        if itip.address(prop) in own
    }
    moved = set(rescheduled(existing, copy))
    for key, component in itip.by_instance(copy).items():
        answer = answers.get(key, answers.get("")) if key not in moved else None
        for prop in itip.attendee_properties(component):
            if itip.address(prop) in own:
                prop.params["PARTSTAT"] = answer or NEEDS_ACTION
    return copy


def personalised(copy_text: str, existing_text: str | None, own: set[str]) -> str:
    """``copy_text`` to store over ``existing_text`` for the attendee whose addresses are
    ``own``: their answers and their alarms kept."""
    copy = itip.parse(copy_text)
    if copy is None:
        return copy_text
    existing = itip.parse(existing_text)
    with_own_answers(copy, existing, own)
    if existing is not None and f"BEGIN:{_ALARM}" in (existing_text or ""):
        with_own_alarms(copy, existing)
    return copy.to_ical().decode()


def answered_as_in(message_text: str, copy_text: str, own: set[str]) -> str:
    """An invitation (REQUEST) for the attendee's inbox, with their answer as their copy
    has it; other messages unchanged."""
    if "METHOD:REQUEST" not in message_text:
        return message_text
    message, copy = itip.parse(message_text), itip.parse(copy_text)
    if message is None or copy is None:
        return message_text
    return with_own_answers(message, copy, own).to_ical().decode()
