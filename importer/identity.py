"""What makes two messages "the same" across servers, and which flags travel with a message.

The identity is computed from what both sides return for the same bytes, so a
message copied earlier (by us or by another tool that keeps headers) matches:
a SHA-256 over the normalised Message-ID, Date, From and Subject header
values and the size (the tie-breaker between messages that share headers,
such as mailing-list copies with different footers). A message without
Message-ID also contributes a hash of its body's first KB, since Date, From
and Subject alone are too often shared (automated mail).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

IDENTITY_HEADERS = ("MESSAGE-ID", "DATE", "FROM", "SUBJECT")
BODY_PREFIX_SIZE = 1024
KEPT_SYSTEM_FLAGS = (r"\Seen", r"\Answered", r"\Flagged", r"\Draft")

_FOLDING = re.compile(rb"\r?\n(?=[ \t])")
_WHITESPACE = re.compile(rb"[ \t\r\n]+")
_ANGLE_ADDRESS = re.compile(rb"<[^<>]*>")
_KEPT_BY_FOLDED = {flag.casefold(): flag for flag in KEPT_SYSTEM_FLAGS}


def header_values(header_block: bytes) -> dict[str, bytes]:
    """The first value of each header in a header block, unfolded, keyed by upper-case name."""
    values: dict[str, bytes] = {}
    for line in _FOLDING.sub(b" ", header_block).splitlines():
        name, colon, value = line.partition(b":")
        if not colon or not name or name[:1] in b" \t":
            continue
        key = name.strip().decode("ascii", "replace").upper()
        values.setdefault(key, _WHITESPACE.sub(b" ", value).strip())
    return values


def normalised_message_id(value: bytes) -> bytes:
    """The ``<...>`` token of a Message-ID field, without comments or stray whitespace."""
    token = _ANGLE_ADDRESS.search(value)
    found = token.group(0) if token else value
    return _WHITESPACE.sub(b"", found)


def has_message_id(values: Mapping[str, bytes]) -> bool:
    """Whether the headers (from ``header_values``) name a Message-ID."""
    return bool(values.get("MESSAGE-ID"))


def message_identity(
    values: Mapping[str, bytes], size: int, body_prefix: bytes | None = None
) -> str:
    """The identity (64 hex digits) of a message from its identity headers and size.

    ``values`` are the headers as ``header_values`` gives them, parsed once per
    message by the caller. ``body_prefix`` (the first :data:`BODY_PREFIX_SIZE`
    bytes of the body) is used only when the message has no Message-ID.
    """
    message_id = normalised_message_id(values.get("MESSAGE-ID", b""))
    digest = hashlib.sha256(b"murmeli-message-identity-1")
    for field in (
        message_id,
        values.get("DATE", b""),
        values.get("FROM", b""),
        values.get("SUBJECT", b""),
        str(size).encode(),
    ):
        digest.update(len(field).to_bytes(4, "big") + field)
    if not message_id:
        digest.update(b"body" + hashlib.sha256(body_prefix or b"").digest())
    return digest.hexdigest()


def kept_flags(flags: Iterable[bytes | str]) -> tuple[str, ...]:
    r"""The flags to set on the copy: the kept system flags and every keyword.

    ``\Recent`` belongs to a session and cannot be set; ``\Deleted`` would
    have the copy expunged by the destination's next EXPUNGE.
    """
    kept = []
    for flag in flags:
        text = flag.decode("utf-8", "replace") if isinstance(flag, bytes) else flag
        if not text.startswith("\\"):
            kept.append(text)
        elif text.casefold() in _KEPT_BY_FOLDED:
            kept.append(_KEPT_BY_FOLDED[text.casefold()])
    return tuple(kept)
