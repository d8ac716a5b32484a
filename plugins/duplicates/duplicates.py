"""The duplicate finder as an owner uses it: proposals, merges, hidden groups, undo.

It reads an address book through ``Collections``, hands plain data to the
matcher and the merger, and writes through ``Collections.replace``, so clients
see the removed cards and the updated one in their next sync. Everything is
prepared before the first write; then the groups are written ``batch`` cards
at a time, each batch under its own hold of Radicale's write lock, so other
users' writes go in between during a merge of thousands of groups. A group
whose cards changed since they were read is left as it is, so a merge never
overwrites an edit it did not see (a single group: refused, 409).

The undo record (``store``) is committed before the first card changes and
marked finished after the last: killed at any point, a merge leaves every card
either as it was or as merged, and its undo puts back all that was merged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from davserver.accounts.directory import AccountError
from davserver.bulk_insert import NewItem
from davserver.collections import CollectionChanged, Collections
from plugins.duplicates.cards import content_lines, read_cards, unescape
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


@dataclass(frozen=True)
class _Change:
    """What writing one group (or undoing one card) does: href -> text before and after
    (None: no such card)."""

    before: dict[str, str | None]
    after: dict[str, str | None]


class Duplicates:
    def __init__(
        self, collections: Collections, store: DuplicateStore, region: str, batch: int = 100
    ) -> None:
        self._collections = collections
        self._store = store
        self._region = region
        self._batch = batch

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
        """Put back every card the merge touched, as it was, under its own href.

        Refused with nothing written when a card is neither as the merge left it
        nor as it was (edited since). Cards the merge did not reach, because a
        crash stopped it, are already as they were.
        """
        record = self._store.merge(owner, merge_id)
        if record is None:
            raise UnknownMerge(f"no merge {merge_id} to undo (undo is kept {UNDO_DAYS} days)")
        book = record.addressbook
        served = self._collections.items(book)
        written = self._collections.stored_texts(book, record.before)
        changes = []
        for href, before in record.before.items():
            # Radicale serves a card from its cache, or re-serialised after a crash left the
            # cache stale: either form, or the file's own text, tells the card's state.
            seen = {served.get(href), written[href]}
            if before in seen:
                continue
            if record.after.get(href) not in seen:
                raise CollectionChanged(f"{book}{href} changed meanwhile; nothing was written")
            changes.append(_Change({href: written[href]}, {href: before}))
        for batch in _batches(changes, self._batch):
            self._replace(book, batch)
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

    def _merged(
        self, items: dict[str, str], group: Group, reference: Card, compare: bool = True
    ) -> Merged:
        others = [items[card.href] for card in group.cards if card is not reference]
        return merge_group(items[reference.href], others, self._region, compare)

    def _apply(
        self,
        owner: str,
        addressbook: str,
        items: dict[str, str],
        plan: list[tuple[Group, Card]],
    ) -> MergeRecord:
        changes = [self._change(items, group, reference) for group, reference in plan]
        record = self._store.begin_merge(owner, addressbook, *_undo_data(changes))
        written = [
            change
            for batch in _batches(changes, self._batch)
            for change in self._write(addressbook, batch)
        ]
        if not written:
            self._store.forget_merge(record.id)
            raise CollectionChanged(
                f"cards of {addressbook} changed meanwhile; nothing was written"
            )
        return self._store.finish_merge(record, *_undo_data(written))

    def _change(self, items: dict[str, str], group: Group, reference: Card) -> _Change:
        before: dict[str, str | None] = {card.href: items[card.href] for card in group.cards}
        merged = self._merged(items, group, reference, compare=False).card
        return _Change(before, {**dict.fromkeys(before), reference.href: merged})

    def _write(self, addressbook: str, batch: list[_Change]) -> list[_Change]:
        """The changes of ``batch`` written: all, or when a card changed since it was read,
        each group on its own, leaving out those whose cards changed."""
        try:
            self._replace(addressbook, batch)
        except CollectionChanged:
            if len(batch) == 1:
                return []
            return [done for change in batch for done in self._write(addressbook, [change])]
        return batch

    def _replace(self, addressbook: str, batch: list[_Change]) -> None:
        after = _joined(change.after for change in batch)
        put = {href: text for href, text in after.items() if text is not None}
        self._collections.replace(
            addressbook,
            put=[NewItem(href, _uid(text), text) for href, text in put.items()],
            delete=[href for href in after if href not in put],
            expect=_joined(change.before for change in batch),
        )


def _reference(group: Group, uid: str | None) -> Card:
    if uid is None:
        return choose_reference(group.cards)
    for card in group.cards:
        if card.uid == uid:
            return card
    raise AccountError(
        f"reference {uid!r} is not one of the group's cards: {', '.join(group.uids)}"
    )


def _batches(changes: list[_Change], cards: int) -> Iterator[list[_Change]]:
    """Consecutive changes of about ``cards`` cards together, a group never split."""
    batch: list[_Change] = []
    size = 0
    for change in changes:
        if batch and size + len(change.before) > cards:
            yield batch
            batch, size = [], 0
        batch.append(change)
        size += len(change.before)
    if batch:
        yield batch


def _undo_data(changes: list[_Change]) -> tuple[dict, dict]:
    """A merge's undo record: href -> text before and after, of every card it changes."""
    return _joined(c.before for c in changes), _joined(c.after for c in changes)


def _joined(parts) -> dict:
    return {href: text for part in parts for href, text in part.items()}


def _uid(text: str) -> str:
    return next((unescape(value) for name, value in content_lines(text) if name == "UID"), "")
