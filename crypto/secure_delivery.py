"""Password-protected delivery to outside recipients who have no OpenPGP key.

The relay hands over a message and the password the sender chose; the message
is stored sealed under that password (``crypto/password_seal.py``), the
recipient gets a notification with a link, and reads the message on the
secure page (``crypto/secure_routes.py``) after typing the password. The
password is never stored, and the link's secret only as a digest.

A message can be read for ``relay.secure_message_days``; then it is deleted
(by the sweeper, or on the first visit after that). After
``relay.secure_message_attempts`` wrong passwords it is locked and its sender
told; the sender may unlock or revoke it. Revoking drops the sealed text at
once and keeps the row until it expires, so the sender still sees it.

The relay deposits before the next hop has the message's other copies: when
the next hop then fails, the client is told 451 and sends the same message
again. Such a deposit is made ``once``: it is filed under a digest of sender,
recipient and message bytes, and a retry finds the first deposit (while it can
still be read) instead of storing a second and notifying the recipient again.
The password is not part of the digest: a retry is the same message.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import logging
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import formataddr, getaddresses

from crypto.password_seal import WrongPassword, derive_key, seal, unseal
from crypto.reading_sessions import ReadingSessions
from crypto.secure_notice import lockout_notice, notification
from crypto.secure_store import SecureMessage, SecureMessageStore
from crypto.settings import RelaySettings
from davserver.accounts.secrets import new_link_token, token_digest
from davserver.clock import FileClock, SystemClock
from davserver.mail import Mailer, MailError

logger = logging.getLogger("murmeli.secure")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
PAGE_PATH = "/api/secure/"
# Key derivations at once: each takes 64 MiB, and guesses must not starve the server.
KDF_SLOTS = 2
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


class DeliveryError(ValueError):
    """The message cannot be delivered by password; the text says why. Nothing was stored."""


class NotificationFailed(DeliveryError):
    """The notification could not be handed to the SMTP server: worth trying again later."""


class Gone(Exception):
    """The message cannot be read any more: ``reason`` is ``expired`` or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unknown(Exception):
    """No message was ever sent with this link (or its tombstone is past keeping)."""


class Locked(Exception):
    """Too many wrong passwords: only the sender can unlock the message."""


class Refused(Exception):
    """Wrong password; ``attempts_left`` more may be tried."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(attempts_left)
        self.attempts_left = attempts_left


@dataclass(frozen=True)
class Opened:
    message: SecureMessage
    raw: bytes
    session: str


def _retry_key(sender: str, recipient: str, message: bytes) -> str:
    digest = hashlib.sha256()
    for part in (sender.lower().encode(), recipient.lower().encode(), message):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SecureDelivery:
    def __init__(
        self,
        store: SecureMessageStore,
        mailer: Mailer,
        clock: SystemClock | FileClock,
        settings: RelaySettings,
        base_url: str | None,
    ) -> None:
        self._store = store
        self._mailer = mailer
        self._clock = clock
        self._days = settings.secure_message_days
        self.attempts = settings.secure_message_attempts
        self._base_url = (settings.secure_message_url or base_url or "").rstrip("/")
        self._sessions = ReadingSessions()
        self._kdf_slots = threading.BoundedSemaphore(KDF_SLOTS)

    def deposit(
        self, sender: str, recipient: str, message: bytes, password: str, once: bool = False
    ) -> str:
        """Store ``message`` (raw RFC 5322) sealed with ``password``, notify ``recipient``,
        and return the secure message's id. Raises ``DeliveryError``. With ``once`` (the
        relay), the same message deposited again returns the first one's id."""
        self._check(sender, recipient, password)
        now = self._clock.now().replace(microsecond=0)
        retry_key = _retry_key(sender, recipient, message) if once else None
        if retry_key is not None:
            first = self._store.retried(retry_key, int(now.timestamp()))
            if first is not None:
                logger.info("secure message %s: sent again, not stored again", first.id)
                return first.id
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(message)
        message_id, secret = secrets.token_hex(12), new_link_token()
        expires = now + timedelta(days=self._days)
        with self._kdf_slots:
            sealed = seal(message, password, message_id.encode())
        self._store.add(
            SecureMessage(
                id=message_id,
                link_digest=token_digest(secret),
                sender=sender.lower(),
                recipient=recipient,
                subject=str(headers.get("Subject", ""))[:998],
                kdf=sealed.kdf,
                salt=sealed.salt,
                sealed=sealed.sealed,
                failures=0,
                created_at=int(now.timestamp()),
                expires_at=int(expires.timestamp()),
                revoked_at=None,
                retry_key=retry_key,
            )
        )
        link = f"{self._base_url}{PAGE_PATH}{message_id}.{secret}"
        try:
            self._mailer.send(notification(_from(headers, sender), recipient, link, expires))
        except MailError as error:
            self._store.delete(message_id)
            reason = f"the notification to {recipient} cannot be sent: {error}"
            raise NotificationFailed(reason) from None
        logger.info("secure message %s from %s to %s stored", message_id, sender, recipient)
        return message_id

    def _check(self, sender: str, recipient: str, password: str) -> None:
        for field, address in (("sender", sender), ("recipient", recipient)):
            if not _ADDRESS.match(address):
                raise DeliveryError(f"{field} {address!r} is not an email address")
        if len(password) < MIN_PASSWORD:
            raise DeliveryError(f"password too short: at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise DeliveryError(f"password too long: at most {MAX_PASSWORD} characters")
        if not self._base_url:
            raise DeliveryError(
                "no public URL for the link: set relay.secure_message_url or server.base_url"
            )
        if not self._mailer.configured:
            raise DeliveryError("no SMTP server for the notification: set smtp.host")

    def find(self, token: str) -> SecureMessage:
        """The message the link ``token`` opens; ``Gone`` if expired or revoked, ``Unknown``
        if no message had this link."""
        message_id, _, secret = token.partition(".")
        digest = token_digest(secret)
        message = self._store.get(message_id)
        if message is None:
            buried = self._store.tombstone(message_id)
            if buried is not None and hmac.compare_digest(digest, buried.link_digest):
                raise Gone(buried.reason)
            raise Unknown()
        if not hmac.compare_digest(digest, message.link_digest):
            raise Unknown()
        if message.expires_at <= self._now():
            self._store.bury(message, self._now())
            raise Gone("expired" if message.sealed is not None else "revoked")
        if message.sealed is None:
            raise Gone("revoked")
        return message

    def open(self, token: str, password: str) -> Opened:
        """The message, if ``password`` is right; else ``Refused``, ``Locked``, ``Gone`` or
        ``Unknown``."""
        message = self.find(token)
        if not self._store.claim_attempt(message.id, self.attempts, self._now()):
            self.find(token)
            raise Locked()
        with self._kdf_slots:
            key = derive_key(password[:MAX_PASSWORD], message.seal)
        try:
            raw = unseal(message.seal.sealed, key, message.id.encode())
        except WrongPassword:
            failures = self._store.get(message.id)
            left = self.attempts - (failures.failures if failures else self.attempts)
            if left <= 0:
                self._tell_sender_locked(message)
                raise Locked() from None
            raise Refused(left) from None
        self._store.release_attempt(message.id)
        return Opened(message, raw, self._sessions.open(message.id, key))

    def read(self, token: str, session: str) -> bytes | None:
        """The message again for a reading session of it, or None (no such session)."""
        message = self.find(token)
        key = self._sessions.key(message.id, session)
        return None if key is None else unseal(message.seal.sealed, key, message.id.encode())

    def expires(self, message: SecureMessage) -> datetime:
        return _instant(message.expires_at)

    def of_sender(self, sender: str) -> list[dict]:
        return [self.summary(message) for message in self._store.of_sender(sender)]

    def every(self) -> list[dict]:
        return [self.summary(message) for message in self._store.every()]

    def summary(self, message: SecureMessage) -> dict:
        """What the sender may see: never the text, nor the link."""
        return {
            "id": message.id,
            "sender": message.sender,
            "recipient": message.recipient,
            "subject": message.subject,
            "created": _instant(message.created_at).isoformat(),
            "expires": _instant(message.expires_at).isoformat(),
            "failures": message.failures,
            "locked": message.failures >= self.attempts,
            "revoked": message.revoked_at is not None,
        }

    def sent_by(self, message_id: str, sender: str | None) -> SecureMessage | None:
        """The message if it exists and ``sender`` sent it (``None``: any sender, for admins)."""
        message = self._store.get(message_id)
        if message is None or (sender is not None and message.sender != sender.lower()):
            return None
        return message

    def revoke(self, message_id: str) -> None:
        self._store.revoke(message_id, self._now())

    def unlock(self, message_id: str) -> None:
        self._store.unlock(message_id)

    def sweep(self) -> int:
        """Delete every expired message; the number deleted."""
        return self._store.delete_expired(self._now())

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _tell_sender_locked(self, message: SecureMessage) -> None:
        logger.warning("secure message %s locked after wrong passwords", message.id)
        notice = lockout_notice(
            message.sender,
            message.recipient,
            message.subject,
            self.attempts,
            self._mailer.from_address,
        )
        try:
            self._mailer.send(notice)
        except MailError as error:
            logger.warning("secure message %s: cannot tell its sender: %s", message.id, error)


def _from(headers: Message, sender: str) -> str:
    """The message's own From (with the sender's name) when it is the sender's address."""
    for name, address in getaddresses([str(headers.get("From", ""))]):
        if address.lower() == sender.lower() and name:
            return formataddr((name, address))
    return sender
