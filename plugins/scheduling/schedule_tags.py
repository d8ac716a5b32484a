"""Schedule-Tags (RFC 6638 §3.2.10, §3.3): the version of a scheduling object resource that
only the organiser's changes move on.

An ETag changes with every write, so an attendee's client that PUTs its answer
after the server merged someone else's answer into its copy would fail an
If-Match and have to start over. The Schedule-Tag changes only when the
organiser changes the event: on the organiser's own PUT of their copy, and on
each attendee's copy when that change is delivered. Merged answers, refreshed
copies and an attendee's own PUT keep it. Tags live in the database by item
path, written before the storage write they announce, so a client that read the
new item cannot hold the old tag; nothing here runs inside Radicale's lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select

from davserver.database import Database, upsert
from davserver.tables import scheduling_tags

_CHUNK = 500  # paths per IN (...) query, well under every database's parameter limit


def quoted(tag: str) -> str:
    """The tag as it goes out, an HTTP opaque-tag."""
    return f'"{tag}"'


def matches(condition: str, tag: str | None) -> bool:
    """Whether an If-Schedule-Tag-Match value names ``tag`` (absent: nothing matches)."""
    return tag is not None and condition.strip() == quoted(tag)


class ScheduleTags:
    def __init__(self, database: Database) -> None:
        self._db = database

    def of(self, path: str) -> str | None:
        return self.of_many([path]).get(path)

    def of_many(self, paths: Iterable[str]) -> dict[str, str]:
        """path -> tag, for those of ``paths`` that are scheduling object resources."""
        paths = sorted(set(paths))
        table = scheduling_tags
        found: dict[str, str] = {}
        with self._db.reader() as connection:
            for start in range(0, len(paths), _CHUNK):
                chunk = paths[start : start + _CHUNK]
                rows = connection.execute(
                    select(table.c.path, table.c.tag).where(table.c.path.in_(chunk))
                )
                found.update((row.path, row.tag) for row in rows)
        return found

    def assign(self, renewed: Iterable[str], kept: Iterable[str] = ()) -> dict[str, str]:
        """A new tag for each of ``renewed``, and a first one for those of ``kept`` that have
        none; one transaction. Returns the tag of every path given."""
        renewed, kept = set(renewed), set(kept)
        tags = self.of_many(kept - renewed)
        fresh = {path: uuid.uuid4().hex for path in (renewed | kept) - set(tags)}
        if fresh:
            with self._db.transaction() as connection:
                for path, tag in fresh.items():
                    upsert(connection, scheduling_tags, {"path": path}, {"tag": tag})
        return {**tags, **fresh}

    def forget(self, path: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(delete(scheduling_tags).where(scheduling_tags.c.path == path))
