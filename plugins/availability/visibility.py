"""Whose calendars an organiser may look at for free/busy, and why not when they may not.

Members of the organisation see each other's free/busy across all their own
calendars, as in a hosted suite. Externals are outside that: their calendars
count only where shared with the organiser (at any level, free/busy included),
and an external organiser sees only what was shared with them. A member without
any calendar (one who never signed in) is named as such, not as one who shares nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from davserver.accounts.directory import Directory, User
from davserver.collections import Collections
from plugins.sharing.shares import Received, Shares

NO_SUCH_USER = "no such user here"
NOT_SHARED = "does not share a calendar with the organiser"
NO_CALENDAR = "has no calendar yet"


@dataclass(frozen=True)
class Visible:
    user: User
    calendars: tuple[str, ...]


@dataclass(frozen=True)
class Unknown:
    attendee: str
    reason: str


class Visibility:
    def __init__(self, directory: Directory, shares: Shares, collections: Collections) -> None:
        self._directory = directory
        self._shares = shares
        self._collections = collections

    def resolve(self, organiser: User, attendee: str) -> Visible | Unknown:
        return self.resolve_all(organiser, [attendee])[0]

    def resolve_all(self, organiser: User, attendees: Iterable[str]) -> list[Visible | Unknown]:
        """Each attendee resolved; the shares the organiser received are read at most once."""
        received: list[Received] | None = None
        resolved: list[Visible | Unknown] = []
        for attendee in attendees:
            user = self._directory.find_by_address(attendee)
            if user is None:
                resolved.append(Unknown(attendee, NO_SUCH_USER))
                continue
            if user.name == organiser.name or _both_members(organiser, user):
                calendars, reason = self._collections.calendars_of(user.name), NO_CALENDAR
            else:
                if received is None:
                    received = self._shares.received_by(organiser.name, organiser.groups)
                calendars = [share.collection for share in received if share.owner == user.name]
                reason = NOT_SHARED
            resolved.append(
                Visible(user, tuple(calendars)) if calendars else Unknown(attendee, reason)
            )
        return resolved


def _both_members(first: User, second: User) -> bool:
    return "external" not in (first.role, second.role)
