"""What the relay needs to know of a message, read once from its bytes.

The message is parsed once, header only (the body stays one string, enough to
recognise inline PGP). The relay's own instructions travel as header fields
set by the mail program or webmail:

* ``X-Murmeli-Encrypt: yes`` asks for every recipient to be encrypted to;
* ``X-Murmeli-Secure-Password: <address> <password>``, one per outside
  recipient without a key, gives the password of their secure message page.

These fields, and Bcc, are removed from the bytes that go on: they must reach
no one. Everything else is kept byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses

from crypto.pgpmime import field_name, is_encrypted, split_header
from crypto.smtp_reply import SmtpReply

ENCRYPT = b"x-murmeli-encrypt"
SECURE_PASSWORD = b"x-murmeli-secure-password"
_REMOVED = (ENCRYPT, SECURE_PASSWORD, b"bcc")
# compat32: plain strings, no header objects; much faster and enough for addresses.
_PARSER = BytesParser(policy=compat32)


@dataclass(frozen=True)
class RelayedMessage:
    raw: bytes  # CRLF, without the X-Murmeli-* fields and Bcc
    authors: tuple[str, ...]  # From, lower-cased
    visible: frozenset[str]  # To and Cc, lower-cased: every other recipient is Bcc
    encrypted: bool  # already PGP/MIME, inline PGP or S/MIME
    encryption_requested: bool
    passwords: dict[str, str] = field(default_factory=dict)  # lower-cased address -> password


def read(raw: bytes) -> RelayedMessage:
    """The message as the relay sees it; ``SmtpReply`` if its X-Murmeli fields are malformed."""
    raw = _canonical(raw)
    fields, body = split_header(raw)
    message = _PARSER.parsebytes(raw, headersonly=True)
    kept = [f for f in fields if field_name(f) not in _REMOVED]
    return RelayedMessage(
        raw=raw if len(kept) == len(fields) else b"\r\n".join(kept) + b"\r\n\r\n" + body,
        authors=tuple(_addresses(message, "From")),
        visible=frozenset(_addresses(message, "To", "Cc")),
        encrypted=is_encrypted(message),
        encryption_requested=_encryption_requested(message),
        passwords=_passwords(message),
    )


def _canonical(raw: bytes) -> bytes:
    """CRLF line ends, as SMTP carries them; bare LF only from careless clients."""
    head_end = raw.find(b"\r\n\r\n")
    if head_end >= 0 and b"\n" not in raw[:head_end].replace(b"\r\n", b""):
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _addresses(message: Message, *names: str) -> list[str]:
    values = [value for name in names for value in message.get_all(name, [])]
    return [address.lower() for _, address in getaddresses(values) if address]


def _encryption_requested(message: Message) -> bool:
    values = {_unfold(value).lower() for value in message.get_all("X-Murmeli-Encrypt", [])}
    if not values <= {"yes", "no"}:
        raise SmtpReply(550, "5.6.0", "X-Murmeli-Encrypt: expected yes or no")
    return "yes" in values


def _passwords(message: Message) -> dict[str, str]:
    passwords = {}
    for value in message.get_all("X-Murmeli-Secure-Password", []):
        address, _, password = _unfold(value).partition(" ")
        if "@" not in address or not password.strip():
            raise SmtpReply(
                550, "5.6.0", "X-Murmeli-Secure-Password: expected '<address> <password>'"
            )
        passwords[address.strip("<>").lower()] = password.strip()
    return passwords


def _unfold(value: str) -> str:
    """The field's value on one line (RFC 5322 unfolding), surrounding spaces removed."""
    return str(value).replace("\r", "").replace("\n", "").strip()
