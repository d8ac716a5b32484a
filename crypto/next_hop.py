"""Hands the relay's copies of a message to the next hop over SMTP, on reused connections.

TLS (``starttls`` or ``tls``) is verified against the system's CAs or
``next_hop.ca_file``; without STARTTLS on offer nothing is sent. Connections
are kept open between messages (a TLS handshake and login per message would
cost more than the encryption). A connection goes back to the idle list only
after a complete transaction, which leaves the server ready for the next one
(RFC 5321 section 4.1.4), so it is reused without an RSET round trip: only
checked, without waiting, that the server has not closed it or sent a 421
(either makes the socket readable). One found stale is replaced.

Each copy is its own transaction, and a copy is sent only when the next hop
accepted its sender and every one of its recipients, so a copy is never
delivered to part of its recipients. The next hop's refusal becomes the
relay's: 4xx stays 4xx, 5xx stays 5xx; a next hop that cannot be reached is
451, for the client to try again.
"""

from __future__ import annotations

import logging
import re
import select
import smtplib
import threading
import time
from collections.abc import Sequence

from crypto.settings import NextHopSettings
from crypto.smtp_reply import SmtpReply
from davserver import smtp_connection

logger = logging.getLogger("murmeli.relay")
IDLE_LIMIT = 30.0  # seconds; mail servers close idle clients after a minute or more
_ENHANCED = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\s+")
Envelope = tuple[Sequence[str], bytes]  # recipients, message


class NextHop:
    def __init__(self, settings: NextHopSettings) -> None:
        if settings.host is None:
            raise ValueError("relay.next_hop.host is required to run the relay")
        self._settings = settings
        self._name = f"{settings.host}:{settings.port}"
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._lock = threading.Lock()

    def send(self, sender: str, copies: Sequence[Envelope]) -> None:
        """Deliver every copy, or raise ``SmtpReply`` with the reply the relay should give."""
        smtp = self._connection()
        try:
            for recipients, data in copies:
                _transaction(smtp, sender, recipients, data)
        except smtplib.SMTPResponseException as error:
            smtp_connection.close(smtp)
            raise self._refusal(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            smtp_connection.close(smtp)
            raise self._unavailable(error) from None
        with self._lock:
            self._idle.append((smtp, time.monotonic()))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp, _ in idle:
            smtp_connection.close(smtp)

    def _connection(self) -> smtplib.SMTP:
        """An idle connection still open, else a new one."""
        while True:
            with self._lock:
                smtp, since = self._idle.pop() if self._idle else (None, 0.0)
            if smtp is None:
                return self._connect()
            if time.monotonic() - since < IDLE_LIMIT and _quiet(smtp):
                return smtp
            smtp_connection.close(smtp)

    def _connect(self) -> smtplib.SMTP:
        try:
            return smtp_connection.connect(self._settings, "relay.next_hop")
        except smtplib.SMTPAuthenticationError as error:
            logger.error("next hop %s refused the relay's login: %s", self._name, error)
            reason = f"next hop {self._name} refused the relay's login"
            raise SmtpReply(451, "4.7.0", reason) from None
        except smtplib.SMTPResponseException as error:
            raise self._refusal(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            raise self._unavailable(error) from None

    def _refusal(self, code: int, text: bytes | str) -> SmtpReply:
        reason = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        match = _ENHANCED.match(reason)
        temporary = 400 <= code < 500
        if not (400 <= code < 600):
            code, temporary = 451, True
        status = match[1] if match else ("4.0.0" if temporary else "5.0.0")
        if match:
            reason = reason[match.end() :]
        logger.warning("next hop %s refused: %d %s %s", self._name, code, status, reason)
        return SmtpReply(code, status, f"next hop {self._name}: {reason}")

    def _unavailable(self, error: Exception) -> SmtpReply:
        logger.warning("next hop %s unavailable: %s", self._name, error)
        return SmtpReply(451, "4.4.1", f"next hop {self._name} unavailable, try again later")


def _transaction(smtp: smtplib.SMTP, sender: str, recipients: Sequence[str], data: bytes) -> None:
    options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
    if not data.isascii() and smtp.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    code, text = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, text, sender)
    for recipient in recipients:
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            smtp.rset()
            raise smtplib.SMTPResponseException(code, text)
    code, text = smtp.data(data)
    if code != 250:
        raise smtplib.SMTPDataError(code, text)


def _quiet(smtp: smtplib.SMTP) -> bool:
    """Whether the server has said nothing since its last reply: no 421, no close."""
    if smtp.sock is None:
        return False
    try:
        readable, _, _ = select.select([smtp.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
