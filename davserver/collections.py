"""Read-only questions about Radicale's collections, asked from outside a request."""

from __future__ import annotations

from radicale import config, storage

from davserver.accounts.directory import AccountError

KINDS = {"VCALENDAR": "calendar", "VADDRESSBOOK": "addressbook"}


class Collections:
    def __init__(self, configuration: config.Configuration) -> None:
        self._storage = storage.load(configuration)

    def kind(self, path: str) -> str | None:
        """``calendar``, ``addressbook``, or None when ``path`` is neither."""
        with self._storage.acquire_lock("r"):
            found = next(iter(self._storage.discover(path)), None)
        if not isinstance(found, storage.BaseCollection):
            return None
        return KINDS.get(found.tag or "")

    def require(self, path: str) -> str:
        kind = self.kind(path)
        if kind is None:
            raise AccountError(f"no calendar or address book at {path}")
        return kind
