"""How many dead properties a collection may hold, and how many bytes of them.

Radicale keeps a collection's properties in one file it rewrites and reads
whole on every request to the collection; without a cap a client could make
every later request slow, or fill the disk one PROPPATCH at a time. Checked
before Radicale stores anything, so a refused PROPPATCH (or MKCOL) changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from davserver.accounts.directory import AccountError
from davserver.request_entry import Refused
from davserver.xml_bodies import PropertyUpdate

StoredProperties = Callable[[str], "dict[str, str] | None"]


class PropertyLimits:
    def __init__(self, stored: StoredProperties, max_count: int, max_bytes: int) -> None:
        """``stored`` gives the properties a collection has now (None: no collection)."""
        self._stored = stored
        self._max_count = max_count
        self._max_bytes = max_bytes

    def check(self, path: str, update: PropertyUpdate, body_size: int, new: bool) -> None:
        """Refuse (403) a PROPPATCH, or the making of a ``new`` collection (MKCOL,
        MKCALENDAR), that would leave the collection over a limit."""
        if not update.added:
            return
        try:
            present = {} if new else self._stored(path)
        except AccountError:
            present = None
        if present is None:
            return  # no collection there, or a name Radicale refuses: Radicale answers
        names = (set(present) | update.added) - update.removed
        if len(names) > self._max_count:
            raise Refused(
                "403 Forbidden",
                f"a collection holds at most {self._max_count} properties "
                f"(server.max_collection_properties)",
            )
        # The request's size bounds what it adds to what is stored.
        size = len(json.dumps(present).encode()) + body_size
        if size > self._max_bytes:
            raise Refused(
                "403 Forbidden",
                f"a collection's properties take at most {self._max_bytes} bytes "
                f"(server.max_collection_properties_size)",
            )
