"""The mails around a password-protected message: the recipient's notification, the
sender's lock-out notice.

Neither carries anything of the message: not its subject, not its text. The
notification comes from the sender (a recipient trusts a name they know, and
replies go to them) and tells how the password arrives: by another channel.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage


def _when(instant: datetime) -> str:
    return instant.strftime("%A %-d %B %Y, %H:%M UTC")


def notification(sender: str, recipient: str, link: str, expires: datetime) -> EmailMessage:
    """``sender`` is the From of the message (``Name <address>``), ``link`` the secure page."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"Secure message from {sender}"
    message.set_content(
        f"{sender} sent you a secure message.\n\n"
        f"Read it here:\n{link}\n\n"
        "You need a password to open it. It is not in this email: the sender gives it to\n"
        "you another way (by phone, text message or in person). If you were not expecting\n"
        "a message, ask the sender before opening the link.\n\n"
        f"The message can be read until {_when(expires)}; then it is deleted.\n"
    )
    return message


def lockout_notice(
    sender: str, recipient: str, subject: str, attempts: int, from_address: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = sender
    message["Subject"] = f"Secure message to {recipient} locked"
    message.set_content(
        f"Your secure message to {recipient} ({subject or 'no subject'}) was locked after\n"
        f"{attempts} wrong passwords. Nobody can open it any more unless you unlock it\n"
        "(POST /api/secure-messages/ID/unlock) or you revoke it\n"
        "(DELETE /api/secure-messages/ID); GET /api/secure-messages lists your messages.\n"
        "If the recipient did not mistype the password, someone else may have the link.\n"
    )
    return message
