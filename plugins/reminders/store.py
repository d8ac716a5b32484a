"""What the reminder scheduler remembers: how far it has scanned, what it sent, what was stopped.

Firings and alarms are stored by SHA-256 digest of their identity (with the
owner), so no event text sits in these tables beyond the title shown on a
stop page. Stop tokens have 256 bits from ``secrets`` and are kept only as
digests; each stops one alarm of one occurrence and nothing else. A token
works for ``STOP_LINK_DAYS`` (every reminder carries a fresh one).
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from davserver.accounts.secrets import new_link_token, token_digest
from davserver.database import Database, upsert
from davserver.tables import (
    reminder_scans,
    reminder_stop_links,
    reminders_sent,
    reminders_stopped,
)
from plugins.reminders.alarms import Firing

SCHEDULER = "scheduler"
STOP_LINK_DAYS = 30


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class ReminderStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def scanned_to(self) -> int | None:
        """The instant (epoch seconds) up to which every due firing was handled."""
        with self._db.reader() as connection:
            return connection.execute(
                select(reminder_scans.c.scanned_to).where(reminder_scans.c.name == SCHEDULER)
            ).scalar()

    def set_scanned_to(self, instant: int) -> None:
        with self._db.transaction() as connection:
            upsert(connection, reminder_scans, {"name": SCHEDULER}, {"scanned_to": instant})

    def was_sent(self, owner: str, firing: Firing, channel: str) -> bool:
        with self._db.reader() as connection:
            return (
                connection.execute(
                    select(reminders_sent.c.key).where(
                        reminders_sent.c.key == _digest(owner, channel, firing.key)
                    )
                ).first()
                is not None
            )

    def record_sent(self, owner: str, firing: Firing, channel: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                insert(reminders_sent).values(
                    key=_digest(owner, channel, firing.key),
                    owner=owner,
                    fire_at=int(firing.at.timestamp()),
                )
            )

    def is_stopped(self, owner: str, firing: Firing) -> bool:
        with self._db.reader() as connection:
            return (
                connection.execute(
                    select(reminders_stopped.c.alarm_key).where(
                        reminders_stopped.c.alarm_key == _digest(owner, firing.alarm_key)
                    )
                ).first()
                is not None
            )

    def new_stop_token(self, owner: str, firing: Firing) -> str:
        token = new_link_token()
        with self._db.transaction() as connection:
            connection.execute(
                insert(reminder_stop_links).values(
                    digest=token_digest(token),
                    owner=owner,
                    alarm_key=_digest(owner, firing.alarm_key),
                    summary=firing.summary[:500],
                    created_at=int(time.time()),
                )
            )
        return token

    def stop_summary(self, token: str) -> str | None:
        """The title of the event whose alarm ``token`` stops, or None for no valid token."""
        with self._db.reader() as connection:
            row = connection.execute(self._link(token)).first()
        return None if row is None else row.summary

    def stop(self, token: str) -> str | None:
        """Stop the alarm ``token`` names; answers its event's title, or None (no such token).
        Following the link again, even concurrently, is harmless."""
        with self._db.reader() as connection:
            link = connection.execute(self._link(token)).first()
        if link is None:
            return None
        stopped = reminders_stopped.c.alarm_key == link.alarm_key
        try:
            with self._db.transaction() as connection:
                if connection.execute(select(reminders_stopped).where(stopped)).first() is None:
                    connection.execute(
                        insert(reminders_stopped).values(
                            alarm_key=link.alarm_key, owner=link.owner, stopped_at=int(time.time())
                        )
                    )
        except IntegrityError:
            pass  # a concurrent request stopped it first
        return link.summary

    def prune(self, now: int, horizon: float) -> None:
        """Forget firings older than any scan can reach again, and expired stop links."""
        with self._db.transaction() as connection:
            connection.execute(
                delete(reminders_sent).where(reminders_sent.c.fire_at < now - horizon)
            )
            connection.execute(
                delete(reminder_stop_links).where(
                    reminder_stop_links.c.created_at < time.time() - STOP_LINK_DAYS * 86400
                )
            )

    @staticmethod
    def _link(token: str):
        """Looked up by digest: the index lookup is on a value an attacker cannot steer."""
        return select(
            reminder_stop_links.c.alarm_key,
            reminder_stop_links.c.owner,
            reminder_stop_links.c.summary,
        ).where(
            reminder_stop_links.c.digest == token_digest(token),
            reminder_stop_links.c.created_at >= time.time() - STOP_LINK_DAYS * 86400,
        )
