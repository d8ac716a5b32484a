"""The duplicate finder as an owner uses it: proposals, merges, hidden groups, undo.

It reads an address book through ``Collections``, hands plain data to the
matcher and the merger, and writes through ``Collections.write``: all or
nothing under Radicale's write lock, so clients see the removed cards and the
updated one in their next sync; and refused when any card of a group changed
since it was read, so a merge never overwrites an edit it did not see. Every
merge leaves an undo record (``store``) before this returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from davserver.accounts.directory import AccountError
from davserver.collections import Collections
from plugins.duplicates.cards import read_cards
from plugins.duplicates.matcher import Card, Group, find_groups
from plugins.duplicates.merge import Merged, choose_reference, merge_group
from plugins.duplicates.store import UNDO_DAYS, DuplicateStore, MergeRecord


class UnknownGroup(AccountError):
    """No such group now: its cards changed, or it never existed."""


class UnknownMerge(AccountError):
    """No such undo record for this owner, or it expired."""


@dataclass(frozen=True)
class Proposal:
    group: Group
    reference: Card
    merged: str
    identical: list[str]
    hidden: bool

    def as_json(self) -> dict:
        return {
            "id": self.group.id,
            "uids": self.group.uids,
            "cards": [{"uid": card.uid, "href": card.href} for card in self.group.cards],
            "reference": self.reference.uid,
            "identical": self.identical,
            "merged": self.merged,
            "hidden": self.hidden,
        }


class Duplicates:
    def __init__(self, collections: Collections, store: DuplicateStore, region: str) -> None:
        self._collections = collections
        self._store = store
        self._region = region

    def addressbooks_of(self, user: str) -> list[str]:
        """Paths of the user's own address books (not those shared with them)."""
        home = self._collections.folder(f"/{user}/")
        paths = [f"/{user}/{folder.name}/" for folder in home.iterdir() if folder.is_dir()]
        return sorted(path for path in paths if self._collections.kind(path) == "addressbook")

    def proposals(self, addressbook: str, include_hidden: bool = False) -> list[Proposal]:
        items = self._items(addressbook)
        hidden = self._store.hidden(addressbook)
        return [
            self._proposal(group, items, group.id in hidden)
            for group in self._groups(items)
            if include_hidden or group.id not in hidden
        ]

    def merge(
        self, owner: str, addressbook: str, group_id: str, reference_uid: str | None = None
    ) -> MergeRecord:
        """Merge one group into its reference card (the proposed one unless named)."""
        items = self._items(addressbook)
        group = self._group(addressbook, items, group_id)
        return self._apply(owner, addressbook, items, [(group, _reference(group, reference_uid))])

    def merge_all(self, owner: str, addressbook: str) -> MergeRecord | None:
        """Merge every group not hidden, each into its proposed reference: one undo record."""
        items = self._items(addressbook)
        hidden = self._store.hidden(addressbook)
        plan = [
            (group, choose_reference(group.cards))
            for group in self._groups(items)
            if group.id not in hidden
        ]
        return self._apply(owner, addressbook, items, plan) if plan else None

    def hide(self, owner: str, addressbook: str, group_id: str) -> None:
        self._group(addressbook, self._items(addressbook), group_id)
        self._store.hide(owner, addressbook, group_id)

    def unhide(self, addressbook: str, group_id: str) -> None:
        if not self._store.unhide(addressbook, group_id):
            raise UnknownGroup(f"group {group_id} is not hidden in {addressbook}")

    def merges(self, owner: str, addressbook: str | None = None) -> list[MergeRecord]:
        return self._store.merges(owner, addressbook)

    def undo(self, owner: str, merge_id: str) -> MergeRecord:
        """Put back every card the merge touched, as it was, under its own href."""
        record = self._store.merge(owner, merge_id)
        if record is None:
            raise UnknownMerge(f"no merge {merge_id} to undo (undo is kept {UNDO_DAYS} days)")
        self._collections.write(record.addressbook, put=record.before, expect=record.after)
        self._store.forget_merge(record.id)
        return record

    def _items(self, addressbook: str) -> dict[str, str]:
        if self._collections.kind(addressbook) != "addressbook":
            raise AccountError(f"no address book at {addressbook}")
        return self._collections.items(addressbook)

    def _groups(self, items: dict[str, str]) -> list[Group]:
        return find_groups(read_cards(items, self._region))

    def _group(self, addressbook: str, items: dict[str, str], group_id: str) -> Group:
        for group in self._groups(items):
            if group.id == group_id:
                return group
        raise UnknownGroup(
            f"no duplicate group {group_id} in {addressbook}: its cards may have changed"
        )

    def _proposal(self, group: Group, items: dict[str, str], hidden: bool) -> Proposal:
        reference = choose_reference(group.cards)
        merged = self._merged(items, group, reference)
        return Proposal(group, reference, merged.card, merged.identical, hidden)

    def _merged(self, items: dict[str, str], group: Group, reference: Card) -> Merged:
        others = [items[card.href] for card in group.cards if card is not reference]
        return merge_group(items[reference.href], others, self._region)

    def _apply(
        self,
        owner: str,
        addressbook: str,
        items: dict[str, str],
        plan: list[tuple[Group, Card]],
    ) -> MergeRecord:
        put = {ref.href: self._merged(items, group, ref).card for group, ref in plan}
        removed = [card.href for group, _ in plan for card in group.cards if card.href not in put]
        before = {card.href: items[card.href] for group, _ in plan for card in group.cards}
        stored = self._collections.write(addressbook, put=put, delete=removed, expect=before)
        after: dict[str, str | None] = {**dict.fromkeys(removed), **stored}
        try:
            return self._store.record_merge(owner, addressbook, before, after)
        except Exception:
            self._collections.write(addressbook, put=before, expect=after)
            raise


def _reference(group: Group, uid: str | None) -> Card:
    if uid is None:
        return choose_reference(group.cards)
    for card in group.cards:
        if card.uid == uid:
            return card
    raise AccountError(
        f"reference {uid!r} is not one of the group's cards: {', '.join(group.uids)}"
    )
