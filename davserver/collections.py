"""Radicale's collections as Murmeli's features use them from outside a request.

Writes go through Radicale's storage API under its write lock, so clients see
them in their next sync (sync-collection reports them) exactly as if a client
had made them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import vobject
from radicale import config, storage
from radicale import item as radicale_item

from davserver.accounts.directory import AccountError

KINDS = {"VCALENDAR": "calendar", "VADDRESSBOOK": "addressbook"}


class Collections:
    def __init__(self, configuration: config.Configuration) -> None:
        self._configuration = configuration
        self._storage = storage.load(configuration)

    def kind(self, path: str) -> str | None:
        """``calendar``, ``addressbook``, or None when ``path`` is neither."""
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

    def write(self, path: str, put: Mapping[str, str], delete: Iterable[str] = ()) -> None:
        """Store ``put`` (href -> vCard/iCalendar text) and remove ``delete``, all or nothing.

        Everything is parsed before anything is written; if storing still fails
        half way, the touched items are put back as they were.
        """
        delete = list(delete)
        with self._storage.acquire_lock("w"):
            collection = self._collection(path)
            parsed = {href: self._item(collection.path, text) for href, text in put.items()}
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

    @staticmethod
    def _item(collection_path: str, text: str) -> radicale_item.Item:
        item = radicale_item.Item(
            collection_path=collection_path, vobject_item=vobject.readOne(text)
        )
        item.prepare()
        return item

    @staticmethod
    def _restore(collection, touched: list[str], before: dict) -> None:
        for href in touched:
            if href in before:
                collection.upload(href, before[href])
            elif next(iter(collection.get_multi([href])))[1] is not None:
                collection.delete(href)

    def _collection(self, path: str):
        found = next(iter(self._storage.discover(path)), None)
        if not isinstance(found, storage.BaseCollection) or not found.tag:
            raise AccountError(f"no calendar or address book at {path}")
        return found

    def require(self, path: str) -> str:
        kind = self.kind(path)
        if kind is None:
            raise AccountError(f"no calendar or address book at {path}")
        return kind
