"""The rows of password-protected messages: sealed text, link digest, failure counter, expiry.

Wrong passwords are counted before the slow key derivation starts, in one
conditional UPDATE (``claim_attempt``): however many guesses run at once, no
more than the allowed number is ever tried. A guess that turns out right gives
its count back (``release_attempt``).

A message whose row goes because it expired leaves a tombstone (``bury``): its
id, link digest and why it ended, kept for ``TOMBSTONE_DAYS``, so its link still
says "expired" or "withdrawn" while a made-up one is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from crypto.password_seal import Sealed
from davserver.database import Database
from davserver.tables import secure_message_tombstones as tombstones
from davserver.tables import secure_messages as table

TOMBSTONE_DAYS = 365


@dataclass(frozen=True)
class Tombstone:
    link_digest: str
    reason: str  # "expired" or "revoked"


@dataclass(frozen=True)
class SecureMessage:
    id: str
    link_digest: str
    sender: str
    recipient: str
    subject: str
    kdf: str
    salt: bytes
    sealed: bytes | None  # None once revoked
    failures: int
    created_at: int
    expires_at: int
    revoked_at: int | None
    retry_key: str | None = None  # set by the relay (``SecureDelivery.deposit``)

    @property
    def seal(self) -> Sealed:
        assert self.sealed is not None
        return Sealed(self.kdf, self.salt, self.sealed)


class SecureMessageStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, message: SecureMessage) -> None:
        with self._db.transaction() as connection:
            connection.execute(insert(table).values(**message.__dict__))

    def get(self, message_id: str) -> SecureMessage | None:
        with self._db.reader() as connection:
            row = connection.execute(select(table).where(table.c.id == message_id)).first()
        return None if row is None else SecureMessage(**row._mapping)

    def retried(self, retry_key: str, now: int) -> SecureMessage | None:
        """The message deposited under ``retry_key`` that can still be read, if any."""
        query = (
            select(table)
            .where(
                table.c.retry_key == retry_key,
                table.c.sealed.is_not(None),
                table.c.expires_at > now,
            )
            .limit(1)
        )
        with self._db.reader() as connection:
            row = connection.execute(query).first()
        return None if row is None else SecureMessage(**row._mapping)

    def of_sender(self, sender: str) -> list[SecureMessage]:
        with self._db.reader() as connection:
            rows = connection.execute(
                select(table).where(table.c.sender == sender.lower()).order_by(table.c.created_at)
            )
            return [SecureMessage(**row._mapping) for row in rows]

    def every(self) -> list[SecureMessage]:
        with self._db.reader() as connection:
            rows = connection.execute(select(table).order_by(table.c.created_at))
            return [SecureMessage(**row._mapping) for row in rows]

    def claim_attempt(self, message_id: str, limit: int, now: int) -> bool:
        """Count one more failure if the message may still be tried; False if it may not."""
        with self._db.transaction() as connection:
            claimed = connection.execute(
                update(table)
                .where(
                    table.c.id == message_id,
                    table.c.failures < limit,
                    table.c.sealed.is_not(None),
                    table.c.expires_at > now,
                )
                .values(failures=table.c.failures + 1)
            )
        return claimed.rowcount == 1

    def release_attempt(self, message_id: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                update(table).where(table.c.id == message_id).values(failures=table.c.failures - 1)
            )

    def revoke(self, message_id: str, now: int) -> bool:
        """Drop the sealed text at once; the row stays, so the sender sees it revoked."""
        with self._db.transaction() as connection:
            done = connection.execute(
                update(table)
                .where(table.c.id == message_id, table.c.sealed.is_not(None))
                .values(sealed=None, revoked_at=now)
            )
        return done.rowcount == 1

    def unlock(self, message_id: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(update(table).where(table.c.id == message_id).values(failures=0))

    def delete(self, message_id: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(delete(table).where(table.c.id == message_id))

    def bury(self, message: SecureMessage, now: int) -> None:
        """Delete the expired ``message``, leaving its tombstone."""
        with self._db.transaction() as connection:
            self._bury(connection, [message], now)

    def delete_expired(self, now: int) -> int:
        """Bury every expired message, forget tombstones past ``TOMBSTONE_DAYS``; the number
        of messages buried."""
        with self._db.transaction() as connection:
            expired = [
                SecureMessage(**row._mapping)
                for row in connection.execute(select(table).where(table.c.expires_at <= now))
            ]
            self._bury(connection, expired, now)
            connection.execute(
                delete(tombstones).where(tombstones.c.ended_at <= now - TOMBSTONE_DAYS * 86400)
            )
        return len(expired)

    def tombstone(self, message_id: str) -> Tombstone | None:
        with self._db.reader() as connection:
            row = connection.execute(
                select(tombstones.c.link_digest, tombstones.c.reason).where(
                    tombstones.c.id == message_id
                )
            ).first()
        return None if row is None else Tombstone(row.link_digest, row.reason)

    @staticmethod
    def _bury(connection, messages: list[SecureMessage], now: int) -> None:
        for message in messages:
            # Whoever deletes the row writes the tombstone: a visit and the sweeper may race.
            if connection.execute(delete(table).where(table.c.id == message.id)).rowcount:
                connection.execute(
                    insert(tombstones).values(
                        id=message.id,
                        link_digest=message.link_digest,
                        reason="expired" if message.revoked_at is None else "revoked",
                        ended_at=now,
                    )
                )
