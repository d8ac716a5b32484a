"""Reviewing and undoing an import by its group: list the import groups of an address book,
take a group off its cards, or delete its cards (only when asked)."""

from __future__ import annotations

from davserver.collections import Collections
from plugins.contacts_import.errors import ImportRefused
from plugins.contacts_import.groups import categories, import_groups, without_group


def list_groups(collections: Collections, addressbook: str) -> list[tuple[str, int]]:
    counts = import_groups(list(collections.items(addressbook).values()))
    return sorted(counts.items())


def remove_group(
    collections: Collections, addressbook: str, group: str, delete_contacts: bool
) -> int:
    """How many cards were in ``group``; they lose the category, or are deleted."""
    members = {
        href: text
        for href, text in collections.items(addressbook).items()
        if group in categories(text)
    }
    if not members:
        raise ImportRefused(f"no card of {addressbook} is in the group {group!r}")
    if delete_contacts:
        collections.write(addressbook, {}, delete=list(members))
    else:
        collections.write(
            addressbook, {href: without_group(text, group) for href, text in members.items()}
        )
    return len(members)
