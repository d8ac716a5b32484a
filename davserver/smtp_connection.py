"""Opening an SMTP connection the one way Murmeli does it: TLS verified, never plain text
when TLS was asked for, logged in when a login is configured.

Murmeli's own mail (``davserver/mail.py``) and the relay's next hop
(``crypto/next_hop.py``) both connect here. With ``starttls`` a server that
does not offer STARTTLS gets nothing: smtplib raises before any mail is sent.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from pathlib import Path
from typing import Protocol


class SmtpServer(Protocol):
    """What a configuration section says about an SMTP server (``smtp``, ``relay.next_hop``)."""

    host: str | None
    port: int
    security: str
    username: str | None
    password_file: Path | None
    ca_file: Path | None
    timeout: int


def connect(server: SmtpServer, section: str) -> smtplib.SMTP:
    """A connection ready for MAIL FROM; raises ``OSError`` or ``smtplib.SMTPException``.

    ``section`` names the configuration section in errors (``smtp``, ``relay.next_hop``).
    """
    context = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    try:
        # A message's last TLS record would otherwise wait for the server's delayed ACK.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.username is not None:
            smtp.login(server.username, _password(server.password_file, section))
        smtp.ehlo_or_helo_if_needed()
    except BaseException:
        close(smtp)
        raise
    return smtp


def close(smtp: smtplib.SMTP) -> None:
    """QUIT politely, or just drop the socket if the server is gone."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _password(password_file: Path, section: str) -> str:
    """Read at each connection, so a rotated password needs no restart. Never None here:
    both settings sections refuse a ``username`` without a ``password_file``."""
    try:
        return password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise OSError(f"cannot read {section}.password_file {password_file}: {error}") from None
