"""Read-only questions about Radicale's collections, asked from outside a request."""

from __future__ import annotations

from pathlib import Path

from radicale import config, storage

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

    def require(self, path: str) -> str:
        kind = self.kind(path)
        if kind is None:
            raise AccountError(f"no calendar or address book at {path}")
        return kind
