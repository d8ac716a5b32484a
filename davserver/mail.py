"""Sends Murmeli's own mail (reminders, notices) through the configured SMTP server.

With ``starttls`` or ``tls`` the server's certificate is verified against the
system's CAs (or ``smtp.ca_file``) and its name checked; if STARTTLS is not
offered the message is not sent: there is no fallback to plain text.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from davserver import smtp_connection
from davserver.settings import SmtpSettings


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server; the text says why."""


class RecipientRefused(MailError):
    """The SMTP server refused every recipient for good (5xx): sending again cannot help."""


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
            smtp = smtp_connection.connect(settings, "smtp")
            try:
                smtp.send_message(message)
            finally:
                smtp_connection.close(smtp)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            refusal = RecipientRefused if codes and min(codes) >= 500 else MailError
            raise refusal(f"SMTP {settings.host}:{settings.port}: {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"SMTP {settings.host}:{settings.port}: {error}") from None
