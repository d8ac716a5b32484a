"""Stable identity of imported cards: importing the same file again adds nothing.

A card that comes without a UID (every CSV row, many vCards) gets one derived
from its content and the address book it goes to, so the same card imported
again into the same address book has the same UID and is found already there.
Its file name follows from its UID too, so a retried import (after a crash)
writes the same files.
"""

from __future__ import annotations

import re
import uuid

# Murmeli's own namespace for the UIDs of imported cards (a random UUID, fixed once).
_NAMESPACE = uuid.UUID("6f1c3b0e-5a2d-4d8e-9b7a-2e4f1c9d8a31")
_SAFE_HREF = re.compile(r"^[A-Za-z0-9@._-]{1,120}$")


def content_uid(addressbook: str, content: str) -> str:
    """The UID of a card without one: the same ``content`` in the same address book, the same
    UID; in another address book, another one."""
    return str(uuid.uuid5(uuid.uuid5(_NAMESPACE, addressbook), content))


def href_for(uid: str) -> str:
    """The card's file name: its UID when that makes a safe file name, else one derived from it."""
    return f"{uid}.vcf" if _SAFE_HREF.match(uid) else f"{uuid.uuid5(_NAMESPACE, uid)}.vcf"
