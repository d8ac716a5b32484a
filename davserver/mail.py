"""Sends Murmeli's own mail (reminders, notices) through the configured SMTP server.

With ``starttls`` or ``tls`` the server's certificate is verified against the
system's CAs (or ``smtp.ca_file``) and its name checked; if STARTTLS is not
offered the message is not sent: there is no fallback to plain text.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from davserver.settings import SmtpSettings


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server; the text says why."""


class Mailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    @property
    def configured(self) -> bool:
        return self._settings.host is not None

    @property
    def from_address(self) -> str:
        return self._settings.from_address or ""

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the SMTP server; its ``From`` defaults to ``smtp.from_address``."""
        settings = self._settings
        if settings.host is None:
            raise MailError("no SMTP server configured (smtp.host)")
        if "From" not in message:
            message["From"] = settings.from_address
        try:
            with self._connect() as smtp:
                if settings.username is not None:
                    smtp.login(settings.username, self._password())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"SMTP {settings.host}:{settings.port}: {error}") from None

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.security == "tls":
            return smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=self._tls_context(),
            )
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            try:
                smtp.starttls(context=self._tls_context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self._settings.ca_file
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _password(self) -> str:
        """Read at each send, so a rotated password needs no restart."""
        password_file = self._settings.password_file
        assert password_file is not None
        try:
            return password_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise MailError(f"cannot read smtp.password_file {password_file}: {error}") from None
