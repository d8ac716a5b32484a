"""The outgoing mail of scheduling: queued in the database by requests, sent by one worker.

A request only inserts rows (one transaction for all recipients); the worker of
``murmeli serve`` builds each message when it sends it (so answer links are
made then) and hands it to the SMTP server, outside any request and any storage
lock. A failed send is retried with growing delays, up to
``scheduling.max_attempts``; a recipient the SMTP server refuses for good (5xx) is
not tried again. Either way the mail is given up and ``undelivered`` is told, so the
organiser's copy can say so. Rows stay in the table as the record of what went out.
One row the worker cannot build or send never stops the others.
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
from davserver.mail import Mailer, MailError, RecipientRefused
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

    def failed(self, mail: OutgoingMail, error: str, attempts: int | None = None) -> None:
        """One more attempt spent, or ``attempts`` in all: a refusal for good spends them
        all, so the row is due no more (unless ``max_attempts`` is raised)."""
        delay = min(_MAX_DELAY, 30 * 2**mail.attempts)
        self._set(
            mail.id,
            attempts=attempts or mail.attempts + 1,
            next_attempt_at=int(time.time()) + delay,
            error=error[:2000],
        )

    def later(self, mail: OutgoingMail) -> list[OutgoingMail]:
        """The mails from the same organiser to the same recipient queued after ``mail``."""
        table = scheduling_mail
        with self._db.reader() as connection:
            rows = connection.execute(
                select(table).where(
                    table.c.id > mail.id,
                    table.c.recipient == mail.recipient,
                    table.c.organiser == mail.organiser,
                )
            ).all()
        return [
            OutgoingMail(r.kind, r.recipient, r.organiser, r.payload, r.id, r.attempts)
            for r in rows
        ]

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
        undelivered: Callable[[OutgoingMail, bool], None],
        poll_interval: float,
        max_attempts: int,
    ) -> None:
        self._queue = queue
        self._mailer = mailer
        self._compose = compose
        self._undelivered = undelivered  # (the mail given up, whether it was refused)
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
            self._send(mail)

    def _send(self, mail: OutgoingMail) -> None:
        try:
            self._mailer.send(self._compose(mail))
        except RecipientRefused as error:
            self._give_up(mail, str(error), refused=True)
            return
        except Exception as error:
            self._failed(mail, error)
            return
        self._queue.sent(mail)
        logger.info("scheduling: %s sent to %s", mail.kind, mail.recipient)

    def _failed(self, mail: OutgoingMail, error: Exception) -> None:
        """A failure that may pass: retried, until the last attempt."""
        if not isinstance(error, MailError | ValueError):
            logger.exception("scheduling: %s to %s failed unexpectedly", mail.kind, mail.recipient)
        if mail.attempts + 1 >= self._max_attempts:
            self._give_up(mail, str(error), refused=False)
            return
        logger.warning("scheduling: %s to %s not sent: %s", mail.kind, mail.recipient, error)
        self._queue.failed(mail, str(error))

    def _give_up(self, mail: OutgoingMail, error: str, refused: bool) -> None:
        logger.warning("scheduling: %s to %s given up: %s", mail.kind, mail.recipient, error)
        self._queue.failed(mail, error, attempts=self._max_attempts)
        try:
            self._undelivered(mail, refused)
        except Exception:
            logger.exception("scheduling: the failed %s to %s not noted", mail.kind, mail.recipient)
