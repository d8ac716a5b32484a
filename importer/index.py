"""The identity index of destination folders, kept in Murmeli's database.

It answers "is this message already there?" without reading the destination
for every message. It is only a cache of the destination: built from the
folder's headers when missing, rebuilt when the folder's UIDVALIDITY changed,
and brought up to date (UIDs above ``indexed_to``) before each folder copy, so
messages appended by a run that died before recording them are found too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from imapclient import IMAPClient
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from davserver.database import Database
from davserver.tables import import_identities, import_mailboxes
from importer.summaries import chunks, summarise, uids_after


class DestinationIndex:
    def __init__(self, database: Database, account: str) -> None:
        self.database = database
        self.account = account

    def refresh(self, client: IMAPClient, folder: str) -> int:
        """Examines ``folder`` on the destination, indexes what is new there; returns its id."""
        uidvalidity = client.select_folder(folder, readonly=True)[b"UIDVALIDITY"]
        mailbox, indexed_to = self._mailbox(folder, uidvalidity)
        for uids in chunks(uids_after(client, indexed_to)):
            summaries = summarise(client, uids)
            with self.database.transaction() as connection:
                self.add(connection, mailbox, (summary.identity for summary in summaries))
                connection.execute(
                    update(import_mailboxes)
                    .where(import_mailboxes.c.id == mailbox)
                    .values(indexed_to=uids[-1])
                )
        client.unselect_folder()
        return mailbox

    def known(self, mailbox: int | None, identities: Collection[str]) -> set[str]:
        """Which ``identities`` are in ``mailbox``, or (``None``) in any folder of the account."""
        query = select(import_identities.c.identity).where(
            import_identities.c.identity.in_(list(identities))
        )
        if mailbox is None:
            query = query.join(import_mailboxes).where(import_mailboxes.c.account == self.account)
        else:
            query = query.where(import_identities.c.mailbox == mailbox)
        with self.database.reader() as connection:
            return set(connection.scalars(query))

    def add(self, connection: Connection, mailbox: int, identities: Iterable[str]) -> None:
        """Records ``identities`` in ``mailbox`` in the caller's transaction, once each."""
        new = set(identities)
        if not new:
            return
        present = connection.scalars(
            select(import_identities.c.identity).where(
                import_identities.c.mailbox == mailbox, import_identities.c.identity.in_(new)
            )
        )
        new.difference_update(present)
        if new:
            connection.execute(
                insert(import_identities), [{"mailbox": mailbox, "identity": i} for i in new]
            )

    def _mailbox(self, folder: str, uidvalidity: int) -> tuple[int, int]:
        """The mailbox row's id and ``indexed_to``; emptied if ``uidvalidity`` changed."""
        table = import_mailboxes
        with self.database.transaction() as connection:
            row = connection.execute(
                select(table.c.id, table.c.uidvalidity, table.c.indexed_to).where(
                    table.c.account == self.account, table.c.folder == folder
                )
            ).first()
            if row is None:
                values = {"account": self.account, "folder": folder}
                result = connection.execute(
                    insert(table).values(**values, uidvalidity=uidvalidity, indexed_to=0)
                )
                return result.inserted_primary_key[0], 0
            if row.uidvalidity != uidvalidity:
                connection.execute(
                    delete(import_identities).where(import_identities.c.mailbox == row.id)
                )
                connection.execute(
                    update(table)
                    .where(table.c.id == row.id)
                    .values(uidvalidity=uidvalidity, indexed_to=0)
                )
                return row.id, 0
            return row.id, row.indexed_to
