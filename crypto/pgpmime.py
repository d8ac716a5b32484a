"""PGP/MIME (RFC 3156) messages: build the encrypted form of a message, and open it again.

``encrypt_message`` encrypts the whole MIME body of a message (its Content-*
header fields and body: every part and attachment) and puts it in part 2 of
a ``multipart/encrypted; protocol="application/pgp-encrypted"`` message, as
Thunderbird, GnuPG-based clients and Apple Mail expect it. The other header
fields stay outside, readable: From, To, Cc, Date, Message-ID and also the
**Subject, which is therefore not protected** (no "protected headers"), so
that mailboxes can still be searched by subject. Bcc is removed: each Bcc
recipient must get a separately encrypted copy, or their key IDs would show.

Messages that are already encrypted (PGP/MIME, inline PGP, S/MIME enveloped)
are returned untouched. Encryption fails closed: without a usable key for
every recipient, ``UndeliverableKey`` is raised and nothing is returned, so a
caller cannot fall back to plain text by mistake.

The encrypted entity is written in MIME canonical form (CRLF line ends), as
RFC 3156 section 4 asks. These are pure functions of their arguments.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from crypto import openpgp
from crypto.armor import armor
from crypto.openpgp import DecryptionRefused, PGPKey, UndeliverableKey

__all__ = [
    "DecryptionRefused",
    "UndeliverableKey",
    "decrypt_message",
    "encrypt_canonical",
    "encrypt_message",
    "field_name",
    "is_encrypted",
    "split_header",
]

PROTOCOL = "application/pgp-encrypted"
_CANONICAL = policy.SMTP  # policy.default with CRLF line ends
_PARSER = BytesParser(policy=policy.default)
_DEFAULT_CONTENT_TYPE = b"Content-Type: text/plain; charset=us-ascii"  # RFC 2045 section 5.2
_LEFT_OUT = (b"bcc", b"mime-version")


def is_encrypted(message: Message) -> bool:
    """Whether the message is already PGP/MIME, inline PGP or S/MIME encrypted."""
    content_type = message.get_content_type()
    if content_type == "multipart/encrypted":
        return True
    if content_type in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        # Opaque-signed S/MIME uses the same type: it is signed, not encrypted.
        smime_type = str(message.get_param("smime-type", "")).lower()
        return smime_type not in ("signed-data", "certs-only")
    if content_type == "text/plain":
        body = message.get_payload(decode=True) or b""
        return body.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----")
    return False


def encrypt_message(message: Message, recipients: Sequence[PGPKey]) -> EmailMessage | Message:
    """The PGP/MIME form of ``message``, or ``message`` itself if it is already encrypted."""
    if is_encrypted(message):
        return message
    return _PARSER.parsebytes(encrypt_canonical(message.as_bytes(policy=_CANONICAL), recipients))


def encrypt_canonical(raw: bytes, recipients: Sequence[PGPKey]) -> bytes:
    """The PGP/MIME form of a message given as CRLF bytes, as CRLF bytes.

    The relay's form of ``encrypt_message``: it has the message as bytes and
    sends bytes, so nothing is parsed or serialised again. The caller has
    already checked that ``raw`` is not encrypted (``is_encrypted``).
    """
    fields, body = split_header(raw)
    content = [field for field in fields if field_name(field).startswith(b"content-")]
    outside = [
        field
        for field in fields
        if not field_name(field).startswith(b"content-") and field_name(field) not in _LEFT_OUT
    ]
    entity = b"\r\n".join(content or [_DEFAULT_CONTENT_TYPE]) + b"\r\n\r\n" + body
    encrypted = armor("MESSAGE", openpgp.encrypt(entity, recipients)).replace("\n", "\r\n")
    return _multipart_encrypted(outside, encrypted.encode("ascii"))


def decrypt_message(message: Message, key: PGPKey) -> EmailMessage:
    """The original message inside a PGP/MIME ``message`` encrypted to our private ``key``."""
    encrypted = _encrypted_part(message)
    entity = openpgp.decrypt(encrypted, key).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    fields, _ = split_header(message.as_bytes(policy=_CANONICAL))
    outside = [field for field in fields if not field_name(field).startswith(b"content-")]
    return _PARSER.parsebytes(b"\r\n".join(outside) + b"\r\n" + entity)


def _encrypted_part(message: Message) -> bytes:
    if message.get_content_type() != "multipart/encrypted" or (
        str(message.get_param("protocol", "")).lower() != PROTOCOL
    ):
        raise DecryptionRefused("not a PGP/MIME message (multipart/encrypted, RFC 3156)")
    parts = message.get_payload()
    if len(parts) != 2 or parts[0].get_content_type() != PROTOCOL:
        raise DecryptionRefused("a PGP/MIME message has exactly two parts, the first " + PROTOCOL)
    if b"Version: 1" not in (parts[0].get_payload(decode=True) or b""):
        raise DecryptionRefused("unknown PGP/MIME version (expected Version: 1)")
    return parts[1].get_payload(decode=True) or b""


def _multipart_encrypted(outside: list[bytes], encrypted: bytes) -> bytes:
    boundary = b"murmeli-pgp-" + secrets.token_hex(16).encode("ascii")
    delimiter = b"--" + boundary
    return b"\r\n".join(
        [
            *outside,
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";',
            b' boundary="' + boundary + b'"',
            b"",
            b"This is an OpenPGP/MIME encrypted message (RFC 3156).",
            delimiter,
            b"Content-Type: application/pgp-encrypted",
            b"Content-Description: PGP/MIME version identification",
            b"",
            b"Version: 1",
            b"",
            delimiter,
            b'Content-Type: application/octet-stream; name="encrypted.asc"',
            b"Content-Description: OpenPGP encrypted message",
            b'Content-Disposition: inline; filename="encrypted.asc"',
            b"",
            encrypted,
            delimiter + b"--",
            b"",
        ]
    )


def split_header(raw: bytes) -> tuple[list[bytes], bytes]:
    """The header fields of a CRLF message (each with its folded lines) and its body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        elif line:
            fields.append(line)
    return fields, body


def field_name(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()
