"""What the duplicate finder remembers: groups the owner hid, and how to undo each merge.

An undo record holds, for every card a merge touched, its full text before
(``before``: href -> text) and what the merge left (``after``: href -> text,
None for a removed card). Undoing puts every ``before`` back under its own href
— only if each card is still as the merge left it or as it was before, so a
later edit is never overwritten silently. Records are kept ``UNDO_DAYS`` and
then purged. Merge ids are random (``secrets``) so one cannot be guessed from
another.

The record is a journal: it is committed (``begin_merge``), marked unfinished,
before the merge changes any card, and marked finished once all are written
(``finish_merge``). So whatever a crash interrupts, each card is as ``before``
or as ``after`` says and the record can put it back.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from davserver.database import Database, upsert
from davserver.tables import (
    duplicate_merges,
    hidden_duplicate_groups,
    unfinished_duplicate_merges,
)

UNDO_DAYS = 30


@dataclass(frozen=True)
class MergeRecord:
    id: str
    owner: str
    addressbook: str
    before: dict[str, str]
    after: dict[str, str | None]
    created_at: int
    finished: bool = True

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "addressbook": self.addressbook,
            "created_at": self.created_at,
            "expires_at": self.created_at + UNDO_DAYS * 86400,
            "restores": sorted(self.before),
            "finished": self.finished,
        }


class DuplicateStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    def hidden(self, addressbook: str) -> set[str]:
        query = select(hidden_duplicate_groups.c.group_id).where(
            hidden_duplicate_groups.c.addressbook == addressbook
        )
        with self._db.reader() as connection:
            return set(connection.execute(query).scalars())

    def hide(self, owner: str, addressbook: str, group_id: str) -> None:
        key = {"addressbook": addressbook, "group_id": group_id}
        with self._db.transaction() as connection:
            upsert(
                connection,
                hidden_duplicate_groups,
                key,
                {"owner": owner, "hidden_at": int(time.time())},
            )

    def unhide(self, addressbook: str, group_id: str) -> bool:
        with self._db.transaction() as connection:
            return bool(
                connection.execute(
                    delete(hidden_duplicate_groups).where(
                        hidden_duplicate_groups.c.addressbook == addressbook,
                        hidden_duplicate_groups.c.group_id == group_id,
                    )
                ).rowcount
            )

    def begin_merge(
        self, owner: str, addressbook: str, before: dict[str, str], after: dict[str, str | None]
    ) -> MergeRecord:
        """The undo record of a merge about to be written, committed as unfinished."""
        record = MergeRecord(
            secrets.token_hex(8), owner, addressbook, before, after, int(time.time()), False
        )
        with self._db.transaction() as connection:
            self._purge(connection)
            connection.execute(
                insert(duplicate_merges).values(
                    id=record.id,
                    owner=owner,
                    addressbook=addressbook,
                    before=json.dumps(before),
                    after=json.dumps(after),
                    created_at=record.created_at,
                )
            )
            connection.execute(insert(unfinished_duplicate_merges).values(merge_id=record.id))
        return record

    def finish_merge(
        self, record: MergeRecord, before: dict[str, str], after: dict[str, str | None]
    ) -> MergeRecord:
        """Mark the merge written, its record narrowed to the cards it did change."""
        with self._db.transaction() as connection:
            connection.execute(
                update(duplicate_merges)
                .where(duplicate_merges.c.id == record.id)
                .values(before=json.dumps(before), after=json.dumps(after))
            )
            connection.execute(
                delete(unfinished_duplicate_merges).where(
                    unfinished_duplicate_merges.c.merge_id == record.id
                )
            )
        return MergeRecord(
            record.id, record.owner, record.addressbook, before, after, record.created_at
        )

    def merge(self, owner: str, merge_id: str) -> MergeRecord | None:
        """The owner's undo record, if it exists and has not expired."""
        query = _with_state(select(duplicate_merges)).where(
            duplicate_merges.c.id == merge_id,
            duplicate_merges.c.owner == owner,
            duplicate_merges.c.created_at >= _oldest_kept(),
        )
        with self._db.reader() as connection:
            row = connection.execute(query).first()
        return _record(row) if row else None

    def merges(self, owner: str, addressbook: str | None = None) -> list[MergeRecord]:
        query = (
            _with_state(select(duplicate_merges))
            .where(duplicate_merges.c.owner == owner)
            .where(duplicate_merges.c.created_at >= _oldest_kept())
            .order_by(duplicate_merges.c.created_at.desc())
        )
        if addressbook is not None:
            query = query.where(duplicate_merges.c.addressbook == addressbook)
        with self._db.reader() as connection:
            return [_record(row) for row in connection.execute(query)]

    def forget_merge(self, merge_id: str) -> None:
        with self._db.transaction() as connection:
            connection.execute(
                delete(unfinished_duplicate_merges).where(
                    unfinished_duplicate_merges.c.merge_id == merge_id
                )
            )
            connection.execute(delete(duplicate_merges).where(duplicate_merges.c.id == merge_id))

    @staticmethod
    def _purge(connection) -> None:
        expired = select(duplicate_merges.c.id).where(
            duplicate_merges.c.created_at < _oldest_kept()
        )
        connection.execute(
            delete(unfinished_duplicate_merges).where(
                unfinished_duplicate_merges.c.merge_id.in_(expired)
            )
        )
        connection.execute(
            delete(duplicate_merges).where(duplicate_merges.c.created_at < _oldest_kept())
        )


def _oldest_kept() -> int:
    return int(time.time()) - UNDO_DAYS * 86400


def _with_state(query):
    """``query`` with an ``unfinished`` column: the merge's unfinished row, if any."""
    return query.add_columns(
        unfinished_duplicate_merges.c.merge_id.label("unfinished")
    ).outerjoin(
        unfinished_duplicate_merges,
        unfinished_duplicate_merges.c.merge_id == duplicate_merges.c.id,
    )


def _record(row) -> MergeRecord:
    return MergeRecord(
        row.id,
        row.owner,
        row.addressbook,
        json.loads(row.before),
        json.loads(row.after),
        row.created_at,
        row.unfinished is None,
    )
