"""The outgoing mail of scheduling: queued in the database by requests, sent by one worker.

A request only inserts rows (one transaction for all recipients); the worker of
``murmeli serve`` builds each message when it sends it (so answer links are
made then) and hands it to the SMTP server, outside any request and any storage
lock. A failed send is retried with growing delays, up to
``scheduling.max_attempts``; rows stay in the table as the record of what went out.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import insert, select, update

from davserver.database import Database
from davserver.mail import Mailer, MailError
from davserver.tables import scheduling_mail

logger = logging.getLogger("murmeli.scheduling")
_BATCH = 100
_MAX_DELAY = 3600


@dataclass(frozen=True)
class OutgoingMail:
    kind: str  # REQUEST, CANCEL, REPLY (iMIP) or NOTICE (a short note to an organiser)
    recipient: str  # an email address
    organiser: str  # the account on whose behalf it goes out
    payload: str  # the iTIP message, or the note as JSON
    id: int = 0
    attempts: int = 0


class MailQueue:
    def __init__(self, database: Database) -> None:
        self._db = database
        self.wake = threading.Event()

    def enqueue(self, mails: Iterable[OutgoingMail]) -> None:
        now = int(time.time())
        rows = [
            {
                "kind": mail.kind,
                "recipient": mail.recipient,
                "organiser": mail.organiser,
                "payload": mail.payload,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for mail in mails
        ]
        if not rows:
            return
        with self._db.transaction() as connection:
            connection.execute(insert(scheduling_mail), rows)
        self.wake.set()

    def due(self, now: int, max_attempts: int) -> list[OutgoingMail]:
        table = scheduling_mail
        with self._db.reader() as connection:
            rows = connection.execute(
                select(table)
                .where(
                    table.c.sent_at.is_(None),
                    table.c.next_attempt_at <= now,
                    table.c.attempts < max_attempts,
                )
                .order_by(table.c.id)
                .limit(_BATCH)
            ).all()
        return [
            OutgoingMail(r.kind, r.recipient, r.organiser, r.payload, r.id, r.attempts)
            for r in rows
        ]

    def sent(self, mail: OutgoingMail) -> None:
        self._set(mail.id, sent_at=int(time.time()), attempts=mail.attempts + 1, error=None)

    def failed(self, mail: OutgoingMail, error: str) -> None:
        delay = min(_MAX_DELAY, 30 * 2**mail.attempts)
        self._set(
            mail.id,
            attempts=mail.attempts + 1,
            next_attempt_at=int(time.time()) + delay,
            error=error[:2000],
        )

    def _set(self, mail_id: int, **values) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                update(scheduling_mail).where(scheduling_mail.c.id == mail_id).values(**values)
            )


class MailWorker:
    """Sends what the queue holds: at once when a request queued something, else every
    ``poll_interval`` for retries."""

    def __init__(
        self,
        queue: MailQueue,
        mailer: Mailer,
        compose: Callable[[OutgoingMail], EmailMessage],
        poll_interval: float,
        max_attempts: int,
    ) -> None:
        self._queue = queue
        self._mailer = mailer
        self._compose = compose
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="murmeli-scheduling", daemon=True)

    def start(self) -> None:
        if not self._mailer.configured:
            logger.warning("scheduling: smtp.host is not set, so invitations stay queued")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._queue.wake.clear()
            try:
                self.send_due()
            except Exception:
                logger.exception("scheduling: sending queued mail failed")
            self._queue.wake.wait(self._poll_interval)

    def send_due(self) -> None:
        if not self._mailer.configured:
            return
        for mail in self._queue.due(int(time.time()), self._max_attempts):
            if self._stopping.is_set():
                return
            try:
                self._mailer.send(self._compose(mail))
            except (MailError, ValueError) as error:
                logger.warning(
                    "scheduling: %s to %s not sent: %s", mail.kind, mail.recipient, error
                )
                self._queue.failed(mail, str(error))
                continue
            self._queue.sent(mail)
            logger.info("scheduling: %s sent to %s", mail.kind, mail.recipient)
