"""When an event's alarms go off: the VALARM firings of one calendar item between two instants.

Pure functions over the item's iCalendar text, so the rules can be tested
without a server. Which alarms the server delivers (RFC 5545 §3.6.6):

- ``ACTION:EMAIL`` → by email to the calendar owner;
- any alarm with ``X-MURMELI-CHAT:TRUE`` → to the chat webhook (as well);
- other alarms (``DISPLAY``, ``AUDIO``) stay with the clients.

Triggers may be relative to the start (default) or the end (``RELATED=END``)
of each occurrence, or absolute (``VALUE=DATE-TIME``, which fires once per
component). ``REPEAT``/``DURATION`` add repetitions; "until I stop them" is a
large ``REPEAT`` (e.g. ``REPEAT:9999``), ended early by the stop link.
Floating times and all-day dates are read as UTC. Recurrences are expanded
within the bounds of plugins/recurrence.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Component

from plugins import recurrence

EMAIL = "email"
CHAT = "chat"
CHAT_PROPERTY = "X-MURMELI-CHAT"
_RECURRENCE = {"RRULE", "RDATE", "RECURRENCE-ID"}


@dataclass(frozen=True)
class Firing:
    """One moment an alarm goes off, with what a reminder needs to say."""

    uid: str
    recurrence_id: str  # "" for a single event, else the occurrence's original start in UTC
    alarm: str  # the VALARM's UID (RFC 9074), or its position in the event
    repetition: int  # 0 for the trigger itself, n for the n-th REPEAT
    at: datetime  # UTC
    channels: frozenset[str]
    summary: str
    start: datetime | date  # the occurrence's start, in the event's own zone
    location: str
    repeats: bool

    @property
    def alarm_key(self) -> str:
        """Names the alarm of one occurrence: what a stop link stops."""
        return f"{self.uid}\n{self.recurrence_id}\n{self.alarm}"

    @property
    def key(self) -> str:
        """Names this firing, so it is delivered once; its time is part of it, so an
        event moved later is reminded of again at its new time."""
        return f"{self.alarm_key}\n{self.repetition}\n{self.at.isoformat()}"


def may_fire(calendar_text: str) -> bool:
    """A cheap test on the raw text, so items without deliverable alarms are never parsed."""
    upper = calendar_text.upper()
    return "ACTION:EMAIL" in upper or CHAT_PROPERTY in upper


def firings(calendar_text: str, after: datetime, until: datetime) -> list[Firing]:
    """Deliverable firings with ``after < at <= until`` (both aware), sorted by time."""
    calendar = Calendar.from_ical(calendar_text)
    events = calendar.walk("VEVENT")
    back, ahead = _reach(events)
    recurring = any(_RECURRENCE & set(event) for event in events)
    found = [
        firing
        for occurrence in recurrence.occurrences(
            calendar, after - back - timedelta(seconds=1), until + ahead + timedelta(seconds=1)
        )
        for firing in _relative_firings(occurrence, recurring, after, until)
    ]
    found += [firing for event in events for firing in _absolute_firings(event, after, until)]
    return sorted(found, key=lambda firing: (firing.at, firing.key))


def _delivered_alarms(event: Component) -> Iterator[tuple[str, Component, frozenset[str]]]:
    alarms = [component for component in event.subcomponents if component.name == "VALARM"]
    for position, alarm in enumerate(alarms):
        channels = set()
        if str(alarm.get("ACTION", "")).upper() == "EMAIL":
            channels.add(EMAIL)
        if str(alarm.get(CHAT_PROPERTY, "")).upper() == "TRUE":
            channels.add(CHAT)
        if channels and alarm.get("TRIGGER") is not None:
            yield str(alarm.get("UID") or position), alarm, frozenset(channels)


def _repetitions(alarm: Component) -> tuple[int, timedelta]:
    """REPEAT and DURATION; a REPEAT without a positive DURATION repeats nothing."""
    duration = alarm.DURATION
    if not alarm.REPEAT or duration is None or duration <= timedelta(0):
        return 0, timedelta(0)
    return alarm.REPEAT, duration


def _reach(events: list[Component]) -> tuple[timedelta, timedelta]:
    """How far before ``after`` an occurrence may start and still fire inside the window
    (late triggers, RELATED=END, repetitions), and how far after ``until`` (early triggers)."""
    back, ahead = timedelta(0), timedelta(0)
    for event in events:
        for _, alarm, _ in _delivered_alarms(event):
            trigger = alarm.TRIGGER
            if not isinstance(trigger, timedelta):
                continue
            repeat, duration = _repetitions(alarm)
            late = trigger + repeat * duration
            if alarm.TRIGGER_RELATED == "END":
                late += _length(event)
            back = max(back, late)
            ahead = max(ahead, -trigger)
    return back, ahead


def _length(event: Component) -> timedelta:
    start = _utc(event["DTSTART"].dt)
    if event.get("DTEND") is not None:
        return _utc(event["DTEND"].dt) - start
    if event.get("DURATION") is not None:
        return event["DURATION"].dt
    return timedelta(days=1) if not isinstance(event["DTSTART"].dt, datetime) else timedelta(0)


def _relative_firings(
    occurrence: Component, recurring: bool, after: datetime, until: datetime
) -> Iterator[Firing]:
    """``recurring_ical_events`` sets a RECURRENCE-ID on every occurrence, even of a
    single event; only occurrences of a recurring event are named by it."""
    start = _utc(occurrence["DTSTART"].dt)
    recurrence_id = _recurrence_id(occurrence) if recurring else ""
    for alarm_id, alarm, channels in _delivered_alarms(occurrence):
        trigger = alarm.TRIGGER
        if not isinstance(trigger, timedelta):
            continue
        base = start + _length(occurrence) if alarm.TRIGGER_RELATED == "END" else start
        yield from _series(
            occurrence, recurrence_id, alarm_id, alarm, channels, base + trigger, after, until
        )


def _absolute_firings(event: Component, after: datetime, until: datetime) -> Iterator[Firing]:
    for alarm_id, alarm, channels in _delivered_alarms(event):
        trigger = alarm.TRIGGER
        if isinstance(trigger, datetime):
            yield from _series(
                event, _recurrence_id(event), alarm_id, alarm, channels, _utc(trigger), after, until
            )


def _series(
    event: Component,
    recurrence_id: str,
    alarm_id: str,
    alarm: Component,
    channels: frozenset[str],
    first: datetime,
    after: datetime,
    until: datetime,
) -> Iterator[Firing]:
    """The repetitions of one alarm inside the window, found by arithmetic rather than
    by walking every repetition (an "until stopped" alarm may have thousands)."""
    repeat, duration = _repetitions(alarm)
    if duration:
        low = max(0, math.floor((after - first) / duration) + 1)
        high = min(repeat, math.floor((until - first) / duration))
    else:
        low, high = (0, 0) if after < first <= until else (1, 0)
    for repetition in range(low, high + 1):
        at = first + repetition * duration
        if after < at <= until:
            yield Firing(
                uid=str(event.get("UID", "")),
                recurrence_id=recurrence_id,
                alarm=alarm_id,
                repetition=repetition,
                at=at,
                channels=channels,
                summary=str(event.get("SUMMARY", "")),
                start=event["DTSTART"].dt,
                location=str(event.get("LOCATION", "")),
                repeats=repeat > 0,
            )


def _recurrence_id(event: Component) -> str:
    recurrence_id = event.get("RECURRENCE-ID")
    return _utc(recurrence_id.dt).isoformat() if recurrence_id else ""


def _utc(value: datetime | date) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
