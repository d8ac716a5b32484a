"""Where a job stands in each source folder: the resume point and the counts shown to users.

A row is written in the same transaction as the identities of the batch it
accounts for, so after a crash the row and the index agree; what the crash
left unrecorded in the destination is found by the index refresh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from davserver.database import Database, upsert
from davserver.tables import import_progress


@dataclass
class FolderProgress:
    job: str
    folder: str
    destination: str
    uidvalidity: int = 0
    last_uid: int = 0
    copied: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0

    def save(self, connection: Connection) -> None:
        row = asdict(self)
        key = {"job": row.pop("job"), "folder": row.pop("folder")}
        upsert(connection, import_progress, key, row)


def load_progress(database: Database, job: str, folder: str, destination: str) -> FolderProgress:
    with database.reader() as connection:
        row = connection.execute(
            select(import_progress).where(
                import_progress.c.job == job, import_progress.c.folder == folder
            )
        ).first()
    if row is None:
        return FolderProgress(job, folder, destination)
    return FolderProgress(**row._asdict())


def job_progress(database: Database, job: str) -> list[FolderProgress]:
    with database.reader() as connection:
        rows = connection.execute(
            select(import_progress)
            .where(import_progress.c.job == job)
            .order_by(import_progress.c.folder)
        )
        return [FolderProgress(**row._asdict()) for row in rows]
