"""Radicale's collections as Murmeli's features use them from outside a request.

Writes go through Radicale's storage API under its write lock, so clients see
them in their next sync (sync-collection reports them) exactly as if a client
had made them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

import vobject
from radicale import config, pathutils, storage
from radicale import item as radicale_item

from davserver.accounts.directory import AccountError
from davserver.bulk_insert import NewItem, create_with_vcards, insert_vcards
from davserver.bulk_replace import first_changed, replace_vcards, stored_texts

KINDS = {"VCALENDAR": "calendar", "VADDRESSBOOK": "addressbook"}
# RFC 6638 schedule inbox and outbox: calendar collections by storage, but they
# hold iTIP messages, not anyone's events (plugins/scheduling).
SCHEDULE_MAILBOXES = frozenset({"schedule-inbox", "schedule-outbox"})
# Each segment becomes one file name; most file systems allow 255 bytes.
MAX_NAME_BYTES = 255


class CollectionChanged(AccountError):
    """An item is no longer as the caller read it: the write was refused as a whole."""


def checked_path(path: str) -> str:
    """``path`` (``/owner/collection/``) if Radicale can store it, else ``AccountError``.

    Clients name collections in API requests; Radicale's storage asserts what
    its own request handling made sure of: no ``.`` or ``..`` segment, no hidden
    (leading dot) or control-character name, each name one file name long.
    """
    names = path.strip("/").split("/")
    for name in names:
        if (
            not pathutils.is_safe_filesystem_path_component(name)
            or len(name.encode()) > MAX_NAME_BYTES
            or any(unicodedata.category(char) == "Cc" for char in name)
        ):
            raise AccountError(
                f"invalid path {path!r}: each name must be 1 to {MAX_NAME_BYTES} bytes, "
                "not start with a dot nor hold control characters"
            )
    if not path.startswith("/"):
        raise AccountError(f"invalid path {path!r}: it must start with /")
    return path


def checked_display_name(name: str) -> str:
    """``name`` if clients can be shown it: not blank, no control characters (XML, which
    carries it to them, cannot hold most of them)."""
    if not name.strip() or any(unicodedata.category(char) == "Cc" for char in name):
        raise AccountError(
            f"invalid name {name!r}: it must not be blank nor hold control characters"
        )
    return name


class Collections:
    def __init__(self, configuration: config.Configuration) -> None:
        self._configuration = configuration
        self._storage = storage.load(configuration)

    def kind(self, path: str) -> str | None:
        """``calendar``, ``addressbook``, or None when ``path`` is neither."""
        checked_path(path)
        with self._storage.acquire_lock("r"):
            found = next(iter(self._storage.discover(path)), None)
        if not isinstance(found, storage.BaseCollection):
            return None
        return KINDS.get(found.tag or "")

    def calendars_of(self, user: str) -> list[str]:
        """Paths of the user's own calendars that hold events (not task-only lists)."""
        with self._storage.acquire_lock("r"):
            found = list(self._storage.discover(f"/{user}/", depth="1"))
        paths = []
        for collection in found:
            if not isinstance(collection, storage.BaseCollection) or collection.tag != "VCALENDAR":
                continue
            if collection.path.rpartition("/")[2] in SCHEDULE_MAILBOXES:
                continue
            components = collection.get_meta("C:supported-calendar-component-set")
            if components and "VEVENT" not in components.split(","):
                continue
            paths.append("/" + collection.path.strip("/") + "/")
        return sorted(paths)

    def folder(self, path: str) -> Path:
        """Where Radicale's multifilesystem keeps the collection: read-only use, no lock needed
        (Radicale replaces item files atomically)."""
        root = Path(self._configuration.get("storage", "filesystem_folder"))
        return root / "collection-root" / path.strip("/")

    def items(self, path: str) -> dict[str, str]:
        """href -> text of every item of the collection at ``path``."""
        with self._storage.acquire_lock("r"):
            collection = self._collection(path)
            return {item.href: item.serialize() for item in collection.get_all() if item.href}

    def stored_texts(self, path: str, hrefs: Iterable[str]) -> dict[str, str | None]:
        """href -> the item file's text as written (None: no such item)."""
        with self._storage.acquire_lock("r"):
            return stored_texts(self._collection(path), hrefs)

    def write(
        self,
        path: str,
        put: Mapping[str, str],
        delete: Iterable[str] = (),
        expect: Mapping[str, str | None] | None = None,
    ) -> dict[str, str]:
        """Store ``put`` (href -> vCard/iCalendar text) and remove ``delete``, all or nothing.

        Everything is parsed before the write lock is taken; if storing still fails
        half way, the touched items are put back as they were. With ``expect``
        (href -> text read earlier, None for "absent"), nothing is written unless
        each of those items is still so: a change a client made meanwhile raises
        ``CollectionChanged`` instead of being overwritten. Returns href -> text
        as stored.
        """
        delete = list(delete)
        parsed = {href: _item(text) for href, text in put.items()}
        with self._storage.acquire_lock("w"):
            collection = self._collection(path)
            self._check_unchanged(path, collection, expect or {})
            touched = [*parsed, *delete]
            before = {href: item for href, item in collection.get_multi(touched) if item}
            try:
                for href, item in parsed.items():
                    collection.upload(href, item)
                for href in delete:
                    if href in before:
                        collection.delete(href)
            except Exception:
                self._restore(collection, touched, before)
                raise
            return {href: item.serialize() for href, item in parsed.items()}

    def write_many(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Store items into several collections (path -> href -> text), all or nothing.

        For one change that reaches many accounts at once, such as an invitation
        delivered to every local attendee: one write lock instead of one per
        collection, and each distinct text parsed once, before the lock is taken.
        If storing fails part way, every touched item is put back as it was.
        """
        prepared: dict[str, radicale_item.Item] = {}
        for put in changes.values():
            for text in put.values():
                if text not in prepared:
                    prepared[text] = _item(text)
        with self._storage.acquire_lock("w"):
            targets = [(self._collection(path), put) for path, put in changes.items()]
            touched: list[tuple[storage.BaseCollection, list[str], dict]] = []
            try:
                for collection, put in targets:
                    before = {href: item for href, item in collection.get_multi(list(put)) if item}
                    touched.append((collection, list(put), before))
                    for href, text in put.items():
                        collection.upload(href, prepared[text])
            except Exception:
                for collection, hrefs, before in reversed(touched):
                    self._restore(collection, hrefs, before)
                raise

    @staticmethod
    def _check_unchanged(path: str, collection, expect: Mapping[str, str | None]) -> None:
        for href, item in collection.get_multi(list(expect)):
            if (item.serialize() if item else None) != expect[href]:
                raise CollectionChanged(f"{path}{href} changed meanwhile; nothing was written")

    def insert(
        self, path: str, cards: Iterable[NewItem], new_addressbook: str | None = None
    ) -> None:
        """Add many new vCards to the address book at ``path``, all or nothing.

        Thousands of cards take a second or two where ``write`` takes minutes
        (see davserver/bulk_insert.py). Refused, with nothing written, when an
        href or a UID is already in the address book. With ``new_addressbook``
        (its display name) the address book is created with the cards in it: it
        appears whole, or not at all (even after a crash).
        """
        cards = list(cards)
        with self._storage.acquire_lock("w"):
            if new_addressbook is not None:
                self._create_addressbook(path, new_addressbook, cards)
                return
            collection = self._collection(path)
            if collection.tag != "VADDRESSBOOK":
                raise AccountError(f"{path} is not an address book")
            present = {item.href: item.uid for item in collection.get_all()}
            self._refuse_clashes(path, present, cards)
            insert_vcards(collection, cards)

    def replace(
        self,
        path: str,
        put: Iterable[NewItem],
        delete: Iterable[str] = (),
        expect: Mapping[str, str | None] | None = None,
    ) -> None:
        """Store many vCards over their hrefs (or as new items) and remove others at once.

        For batches ``write`` would take minutes over (see davserver/bulk_replace.py);
        refused as a whole, like ``write``, when an item of ``expect`` is no longer so.
        Each item is written atomically, the batch is not: a crash part way leaves
        part of it written, so callers record first what they need to put it back.
        """
        put, delete = list(put), list(delete)
        with self._storage.acquire_lock("w"):
            collection = self._collection(path)
            changed = first_changed(collection, expect or {})
            if changed is not None:
                raise CollectionChanged(f"{path}{changed} changed meanwhile; nothing was written")
            replace_vcards(collection, put, delete)

    @staticmethod
    def _refuse_clashes(path: str, present: Mapping[str, str], cards: list[NewItem]) -> None:
        """``present``: href -> UID of the items already there."""
        hrefs, uids = set(present), set(present.values())
        for card in cards:
            if card.href in hrefs or card.uid in uids:
                raise AccountError(f"a card with UID {card.uid} is already in {path}")
            hrefs.add(card.href)
            uids.add(card.uid)

    def uids(self, path: str) -> set[str]:
        """UIDs of the items of the collection at ``path``."""
        with self._storage.acquire_lock("r"):
            return {item.uid for item in self._collection(path).get_all()}

    def texts_by_uid(self, path: str) -> dict[str, str]:
        """UID -> text of every item of the collection at ``path``, read in one pass."""
        with self._storage.acquire_lock("r"):
            return {item.uid: item.serialize() for item in self._collection(path).get_all()}

    def properties(self, path: str) -> dict[str, str] | None:
        """The properties stored for the collection at ``path``; None when it is none."""
        checked_path(path)
        with self._storage.acquire_lock("r"):
            found = next(iter(self._storage.discover(path)), None)
            if not isinstance(found, storage.BaseCollection):
                return None
            return dict(found.get_meta() or {})

    def provide(self, path: str, props: Mapping[str, str]) -> bool:
        """Create the collection at ``path`` with ``props`` unless it exists; True if created.
        For collections an account needs but did not get on its first login."""
        if self.folder(path).is_dir():
            return False
        with self._storage.acquire_lock("w"):
            if next(iter(self._storage.discover(path)), None) is not None:
                return False
            self._storage.create_collection(path, props=dict(props))
            return True

    def create_addressbook(self, path: str, name: str) -> None:
        """A new, empty address book at ``path`` showing as ``name`` in clients."""
        with self._storage.acquire_lock("w"):
            self._create_addressbook(path, name, [])

    def _create_addressbook(self, path: str, name: str, cards: list[NewItem]) -> None:
        checked_path(path)
        checked_display_name(name)
        if next(iter(self._storage.discover(path)), None) is not None:
            raise AccountError(f"{path} already exists")
        self._refuse_clashes(path, {}, cards)
        props = {"tag": "VADDRESSBOOK", "D:displayname": name}
        create_with_vcards(self._storage, path, props, cards)

    @staticmethod
    def _restore(collection, touched: list[str], before: dict) -> None:
        for href in touched:
            if href in before:
                collection.upload(href, before[href])
            elif next(iter(collection.get_multi([href])))[1] is not None:
                collection.delete(href)

    def _collection(self, path: str):
        checked_path(path)
        found = next(iter(self._storage.discover(path)), None)
        if not isinstance(found, storage.BaseCollection) or not found.tag:
            raise AccountError(f"no calendar or address book at {path}")
        return found

    def require(self, path: str) -> str:
        kind = self.kind(path)
        if kind is None:
            raise AccountError(f"no calendar or address book at {path}")
        return kind


def _item(text: str) -> radicale_item.Item:
    """``text`` parsed, with all Radicale stores about it computed, before any lock is taken.

    Not tied to a collection: ``upload`` reads only these values, and Radicale
    names the collection path only in errors about parsing, which cannot
    happen again. So one item can be uploaded into several collections.
    """
    item = radicale_item.Item(collection_path="", vobject_item=vobject.readOne(text))
    item.prepare()
    return item
