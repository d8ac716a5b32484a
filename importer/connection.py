"""Logging in to an IMAP server, source or destination, with TLS verified by default."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

SECURITIES = ("tls", "starttls", "none")
TIMEOUT = 60


@dataclass(frozen=True)
class ImapEndpoint:
    """One account on one server. ``none`` sends the password in clear: loopback or tests only."""

    host: str
    port: int
    security: str
    login: str
    password: str = field(repr=False)
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}")

    def connect(self) -> IMAPClient:
        """A logged-in client; INTERNALDATE values keep their zone (``normalise_times`` off)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        client = IMAPClient(
            self.host,
            port=self.port,
            ssl=self.security == "tls",
            ssl_context=context,
            timeout=TIMEOUT,
        )
        try:
            if self.security == "starttls":
                client.starttls(context)
            client.login(self.login, self.password)
        except BaseException:
            client.shutdown()
            raise
        client.normalise_times = False
        _quiet_imaplib(client)
        return client


def _quiet_imaplib(client: IMAPClient) -> None:
    """Stops imaplib formatting every response for a debug log nobody reads.

    IMAPClient sets imaplib's documented ``debug`` level to 5 and routes its
    messages to the ``imapclient.imaplib`` logger, so imaplib builds the
    ``repr`` of each message body fetched (~6 s of CPU per 560 MB) even when
    that logger discards it. The level stays when the logger is on.
    """
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0
