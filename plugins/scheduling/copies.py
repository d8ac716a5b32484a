"""Where each person's copy of a scheduled event lives, so answers find it without a scan.

Recorded when the server learns of a copy (an organiser's or attendee's PUT, a
delivery); forgotten when it is deleted through the server. A copy moved to
another calendar by a client is found again at its next PUT.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from davserver.database import Database, upsert
from davserver.tables import scheduling_copies

ORGANISER, ATTENDEE = "organiser", "attendee"


@dataclass(frozen=True)
class Copy:
    uid: str
    user: str
    path: str  # the item path, /user/calendar/x.ics


class Copies:
    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, uid: str, user: str, path: str, role: str) -> None:
        self.record_all([Copy(uid, user, path)], role)

    def record_all(self, copies: Iterable[Copy], role: str) -> None:
        """Every copy of one delivery in one transaction."""
        with self._db.transaction() as connection:
            for copy in copies:
                upsert(
                    connection,
                    scheduling_copies,
                    {"uid": copy.uid, "user": copy.user},
                    {"path": copy.path, "role": role},
                )

    def find(self, uid: str, user: str) -> str | None:
        """The item path (``/user/calendar/x.ics``) of ``user``'s copy, or None."""
        return self.find_all([(uid, user)]).get((uid, user))

    def find_all(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(uid, user) -> item path, for those of ``wanted`` that have a copy; one query."""
        wanted = set(wanted)
        if not wanted:
            return {}
        table = scheduling_copies
        with self._db.reader() as connection:
            rows = connection.execute(
                select(table.c.uid, table.c.user, table.c.path).where(
                    table.c.uid.in_({uid for uid, _ in wanted}),
                    table.c.user.in_({user for _, user in wanted}),
                )
            ).all()
        return {(r.uid, r.user): r.path for r in rows if (r.uid, r.user) in wanted}

    def forget(self, uid: str, user: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                delete(scheduling_copies).where(
                    scheduling_copies.c.uid == uid, scheduling_copies.c.user == user
                )
            )
