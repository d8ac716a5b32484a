"""Whose calendars an organiser may look at for free/busy, and why not when they may not.

Members of the organisation see each other's free/busy across all their own
calendars, as in a hosted suite. Externals are outside that: their calendars
count only where shared with the organiser (at any level, free/busy included),
and an external organiser sees only what was shared with them.
"""

from __future__ import annotations

from dataclasses import dataclass

from davserver.accounts.directory import Directory, User
from davserver.collections import Collections
from plugins.sharing.shares import Shares

NO_SUCH_USER = "no such user here"
NOT_SHARED = "does not share a calendar with the organiser"


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
        user = self._directory.find_by_address(attendee)
        if user is None:
            return Unknown(attendee, NO_SUCH_USER)
        if user.name == organiser.name or _both_members(organiser, user):
            calendars = self._collections.calendars_of(user.name)
        else:
            calendars = [
                received.collection
                for received in self._shares.received_by(organiser.name, organiser.groups)
                if received.owner == user.name
            ]
        if not calendars:
            return Unknown(attendee, NOT_SHARED)
        return Visible(user, tuple(calendars))


def _both_members(first: User, second: User) -> bool:
    return "external" not in (first.role, second.role)
