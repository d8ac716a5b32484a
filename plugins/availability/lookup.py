"""The availability answer: everyone's busy time in the window and the nearest common free slot.

The organiser counts as an attendee: a meeting needs them free too. An
organiser without a calendar yet is simply free, not one of the unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from davserver.accounts.directory import User
from davserver.collections import Collections
from plugins.availability.busy import Period, merge
from plugins.availability.freebusy import freebusy_component, reply_calendar
from plugins.availability.index import BusyIndex
from plugins.availability.query import Query
from plugins.availability.slots import find_slots
from plugins.availability.visibility import Unknown, Visibility


@dataclass(frozen=True)
class Answer:
    query: Query
    organiser: User
    best: datetime | None
    alternatives: list[datetime]
    busy: dict[str, list[Period]]
    unknown: list[Unknown]
    addresses: dict[str, str]  # user name -> calendar user address (mailto:, else the name)

    def as_json(self) -> dict:
        def local(moment: datetime) -> str:
            return moment.astimezone(self.query.zone).isoformat()

        return {
            "organiser": self.organiser.name,
            "timezone": self.query.zone.key,
            "desired": local(self.query.desired),
            "duration_minutes": int(self.query.duration.total_seconds() // 60),
            "window": {
                "start": local(self.query.window_start),
                "end": local(self.query.window_end),
            },
            "best": local(self.best) if self.best else None,
            "alternatives": [local(start) for start in self.alternatives],
            "busy": {
                name: [
                    {"start": local(p.start), "end": local(p.end), "type": p.kind} for p in periods
                ]
                for name, periods in self.busy.items()
            },
            "unknown": [{"attendee": u.attendee, "reason": u.reason} for u in self.unknown],
        }

    def as_icalendar(self) -> bytes:
        """One VFREEBUSY per attendee with known availability (RFC 5545 §3.6.4)."""
        organiser = f"mailto:{self.organiser.email}" if self.organiser.email else None
        start, end = self.query.window_start, self.query.window_end
        return reply_calendar(
            freebusy_component(self.addresses[name], organiser, start, end, periods)
            for name, periods in self.busy.items()
        ).to_ical()


class Availability:
    def __init__(self, visibility: Visibility, collections: Collections, index: BusyIndex) -> None:
        self._visibility = visibility
        self._collections = collections
        self._index = index

    def lookup(self, organiser: User, query: Query) -> Answer:
        busy: dict[str, list[Period]] = {}
        unknown: list[Unknown] = []
        addresses: dict[str, str] = {}
        for resolved in self._visibility.resolve_all(organiser, (organiser.name, *query.attendees)):
            if isinstance(resolved, Unknown):
                if resolved.attendee != organiser.name:
                    unknown.append(resolved)
            elif resolved.user.name not in busy:
                user = resolved.user
                busy[user.name] = self._periods(
                    user, resolved.calendars, query.window_start, query.window_end, query.zone
                )
                addresses[user.name] = f"mailto:{user.email}" if user.email else user.name
        everyone = merge(period for periods in busy.values() for period in periods)
        slots = find_slots(
            everyone,
            query.desired,
            query.duration,
            query.window_start,
            query.window_end,
            query.working_hours,
            count=query.alternatives + 1,
        )
        best, alternatives = (slots[0], slots[1:]) if slots else (None, [])
        return Answer(query, organiser, best, alternatives, busy, unknown, addresses)

    def busy(
        self, organiser: User, attendee: str, start: datetime, end: datetime, zone: ZoneInfo
    ) -> list[Period] | Unknown:
        """One attendee's busy time in [start, end) as ``organiser`` may see it (the schedule
        outbox's free-busy answer, RFC 6638 §3.2.9)."""
        resolved = self._visibility.resolve(organiser, attendee)
        if isinstance(resolved, Unknown):
            return resolved
        return self._periods(resolved.user, resolved.calendars, start, end, zone)

    def _periods(
        self,
        user: User,
        calendars: tuple[str, ...],
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
    ) -> list[Period]:
        addresses = frozenset({f"mailto:{user.email.lower()}"} if user.email else set())
        return merge(
            period
            for calendar in calendars
            for period in self._index.periods(
                self._collections.folder(calendar), start, end, zone, addresses
            )
        )
