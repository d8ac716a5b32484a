"""What the importer learns about messages before copying them: identity, size, flags, date.

Everything is read with BODY.PEEK, so fetching never sets ``\\Seen``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from imapclient import IMAPClient

from importer.identity import (
    BODY_PREFIX_SIZE,
    IDENTITY_HEADERS,
    has_message_id,
    header_values,
    kept_flags,
    message_identity,
)

HEADER_ITEM = f"BODY.PEEK[HEADER.FIELDS ({' '.join(IDENTITY_HEADERS)})]".encode()
HEADER_KEY = HEADER_ITEM.replace(b".PEEK", b"")
BODY_PREFIX_ITEM = f"BODY.PEEK[TEXT]<0.{BODY_PREFIX_SIZE}>".encode()
BODY_PREFIX_KEY = b"BODY[TEXT]<0>"
CHUNK = 500


@dataclass(frozen=True)
class MessageSummary:
    uid: int
    identity: str
    size: int
    flags: tuple[str, ...]
    internal_date: datetime


def uids_after(client: IMAPClient, last_uid: int) -> list[int]:
    """UIDs above ``last_uid`` in the selected folder, ascending.

    ``N:*`` always matches the highest UID, even below N (RFC 3501), hence the filter.
    """
    return sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)


def chunks(uids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def summarise(client: IMAPClient, uids: Sequence[int]) -> list[MessageSummary]:
    """Summaries of the messages still present among ``uids`` (selected folder), by UID."""
    if not uids:
        return []
    items = [b"RFC822.SIZE", b"FLAGS", b"INTERNALDATE", HEADER_ITEM]
    fetched = client.fetch(list(uids), items)
    headers = {uid: header_values(data[HEADER_KEY]) for uid, data in fetched.items()}
    without_id = [uid for uid, values in headers.items() if not has_message_id(values)]
    prefixes = client.fetch(without_id, [BODY_PREFIX_ITEM]) if without_id else {}
    return [
        MessageSummary(
            uid=uid,
            identity=message_identity(
                headers[uid],
                data[b"RFC822.SIZE"],
                prefixes.get(uid, {}).get(BODY_PREFIX_KEY),
            ),
            size=data[b"RFC822.SIZE"],
            flags=kept_flags(data[b"FLAGS"]),
            internal_date=data[b"INTERNALDATE"],
        )
        for uid, data in sorted(fetched.items())
    ]
