"""Which address book an import goes to, checked before the file is read, and what it holds
already."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from davserver.collections import Collections, checked_display_name
from plugins.contacts_import.errors import ImportRefused
from plugins.contacts_import.groups import import_groups


def owner_of(path: str) -> str:
    return path.strip("/").split("/")[0]


def resolve(collections: Collections, addressbook: str, new_name: str | None) -> str:
    """``/OWNER/BOOK/`` normalised; with ``new_name`` the book must not exist yet, and
    ``/OWNER/`` alone gets a fresh path as clients make them."""
    parts = [part for part in addressbook.strip("/").split("/") if part]
    if not addressbook.startswith("/") or not parts or len(parts) > 2:
        raise ImportRefused(f"invalid address book {addressbook!r}: expected /OWNER/BOOK/")
    if new_name is not None:
        if not new_name.strip():
            raise ImportRefused("the new address book needs a name")
        checked_display_name(new_name)
        if len(parts) == 1:
            parts.append(str(uuid.uuid4()))
        path = "/" + "/".join(parts) + "/"
        if collections.kind(path) is not None:
            raise ImportRefused(f"{path} already exists: leave out --new-addressbook to add to it")
        return path
    if len(parts) != 2:
        raise ImportRefused(f"invalid address book {addressbook!r}: expected /OWNER/BOOK/")
    path = "/" + "/".join(parts) + "/"
    if collections.kind(path) != "addressbook":
        raise ImportRefused(f"no address book at {path}")
    return path


@dataclass(frozen=True)
class Present:
    """What the address book holds already, as far as an import cares."""

    uids: set[str]
    groups: set[str]  # import groups


def present(collections: Collections, path: str, new: bool) -> Present:
    if new:
        return Present(set(), set())
    texts = collections.texts_by_uid(path)
    return Present(set(texts), set(import_groups(list(texts.values()))))
