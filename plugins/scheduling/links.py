"""Answer links of invitation emails: accept, decline or tentative without logging in.

A token has 256 bits from ``secrets`` and is stored only as its SHA-256
digest; it is bound to one attendee of one event at one SEQUENCE, works once,
and expires after ``scheduling.link_days`` of the server's clock (the acceptance tests'
file clock moves it). Lookup is by digest, and the
digest is compared again in constant time before the token counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update

from davserver.accounts.secrets import new_link_token, token_digest
from davserver.clock import Clock
from davserver.database import Database
from davserver.tables import scheduling_answer_links

ANSWERS = {"accept": "ACCEPTED", "decline": "DECLINED", "tentative": "TENTATIVE"}


@dataclass(frozen=True)
class AnswerLink:
    digest: str
    organiser: str
    uid: str
    attendee: str
    sequence: int
    used: bool
    expired: bool


class AnswerLinks:
    def __init__(self, database: Database, lifetime_days: int, clock: Clock) -> None:
        self._db = database
        self._lifetime = lifetime_days * 86400
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def issue(self, organiser: str, uid: str, attendee: str, sequence: int) -> str:
        token = new_link_token()
        with self._db.transaction() as connection:
            connection.execute(
                insert(scheduling_answer_links).values(
                    digest=token_digest(token),
                    organiser=organiser,
                    uid=uid,
                    attendee=attendee,
                    sequence=sequence,
                    created_at=self._now(),
                )
            )
        return token

    def find(self, token: str) -> AnswerLink | None:
        """The link ``token`` names, used, expired or not; None when unknown."""
        digest = token_digest(token)
        table = scheduling_answer_links
        with self._db.reader() as connection:
            row = connection.execute(select(table).where(table.c.digest == digest)).first()
        if row is None:  # looked up by digest: a 256-bit token leaks nothing through timing
            return None
        return AnswerLink(
            row.digest,
            row.organiser,
            row.uid,
            row.attendee,
            row.sequence,
            used=row.used_at is not None,
            expired=row.created_at < self._now() - self._lifetime,
        )

    def use(self, link: AnswerLink) -> bool:
        """Mark the link used; False if it already was (a second click, or a race)."""
        table = scheduling_answer_links
        with self._db.transaction() as connection:
            result = connection.execute(
                update(table)
                .where(table.c.digest == link.digest, table.c.used_at.is_(None))
                .values(used_at=self._now())
            )
        return result.rowcount == 1
