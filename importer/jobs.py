"""Import jobs in Murmeli's database: what to copy, where it stands, and its sealed passwords.

A job is ``queued`` until the daemon takes it (``running``), and ends
``done``, ``failed`` (with the reason) or ``cancelled``. Its id is 128 random
bits: knowing it is what lets a caller follow or cancel the job. The moment a
job ends its passwords are erased, in the same transaction as the new state.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from davserver.accounts.directory import AccountError
from davserver.database import Database
from davserver.tables import import_jobs
from importer.credentials import Credentials

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
ENDED = (DONE, FAILED, CANCELLED)
SOURCE, DESTINATION = "source", "destination"


class JobError(AccountError):
    """No such job, or not in a state that allows the request: exit 2 / HTTP 400."""


@dataclass(frozen=True)
class JobRequest:
    source_host: str
    source_port: int
    source_security: str
    source_login: str
    destination_login: str
    prefix: str | None = None


@dataclass(frozen=True)
class Job(JobRequest):
    id: str = ""
    state: str = QUEUED
    error: str | None = None
    cancel_requested: bool = False
    total_messages: int | None = None
    created_at: int = 0
    started_at: int | None = None
    finished_at: int | None = None

    @property
    def ended(self) -> bool:
        return self.state in ENDED


_COLUMNS = [import_jobs.c[name] for name in Job.__dataclass_fields__]


class JobStore:
    def __init__(self, database: Database, credentials: Credentials) -> None:
        self.database = database
        self.credentials = credentials

    def add(
        self, request: JobRequest, source_password: str, destination_password: str | None = None
    ) -> Job:
        return self.add_many([(request, source_password, destination_password)])[0]

    def add_many(self, requests: list[tuple[JobRequest, str, str | None]]) -> list[Job]:
        """Queues every request (with its source and destination passwords), or none."""
        jobs, rows = [], []
        for request, source_password, destination_password in requests:
            job = Job(**request.__dict__, id=secrets.token_hex(16), created_at=int(time.time()))
            sealed_destination = (
                None
                if destination_password is None
                else self.credentials.seal(job.id, DESTINATION, destination_password)
            )
            jobs.append(job)
            rows.append(
                {
                    **job.__dict__,
                    "source_password": self.credentials.seal(job.id, SOURCE, source_password),
                    "destination_password": sealed_destination,
                }
            )
        with self.database.transaction() as connection:
            connection.execute(insert(import_jobs), rows)
        return jobs

    def get(self, job: str) -> Job:
        with self.database.reader() as connection:
            row = connection.execute(select(*_COLUMNS).where(import_jobs.c.id == job)).first()
        if row is None:
            raise JobError(f"no import job {job!r}")
        return Job(**row._asdict())

    def list(self, states: tuple[str, ...] | None = None) -> list[Job]:
        query = select(*_COLUMNS).order_by(import_jobs.c.created_at, import_jobs.c.id)
        if states is not None:
            query = query.where(import_jobs.c.state.in_(states))
        with self.database.reader() as connection:
            return [Job(**row._asdict()) for row in connection.execute(query)]

    def passwords(self, job: str) -> tuple[str, str | None]:
        """The source password and the destination's own (None when a master user logs in)."""
        with self.database.reader() as connection:
            row = connection.execute(
                select(import_jobs.c.source_password, import_jobs.c.destination_password).where(
                    import_jobs.c.id == job
                )
            ).one()
        if row.source_password is None:
            raise JobError(f"job {job} has no stored password any more")
        source = self.credentials.open(job, SOURCE, row.source_password)
        if row.destination_password is None:
            return source, None
        return source, self.credentials.open(job, DESTINATION, row.destination_password)

    def claim(self, job: str) -> bool:
        """Queued → running; False if another caller took or cancelled it first."""
        return self._move(job, (QUEUED,), state=RUNNING, started_at=int(time.time()))

    def requeue_running(self) -> int:
        """Jobs a stopped or killed daemon left running go back to the queue, to be resumed."""
        with self.database.transaction() as connection:
            result = connection.execute(
                update(import_jobs).where(import_jobs.c.state == RUNNING).values(state=QUEUED)
            )
        return result.rowcount

    def requeue(self, job: str) -> None:
        self._move(job, (RUNNING,), state=QUEUED)

    def note(self, job: str, error: str | None, total_messages: int | None = None) -> None:
        """What a running job last met (shown by ``status``), without changing its state."""
        values: dict = {"error": error}
        if total_messages is not None:
            values["total_messages"] = total_messages
        self._move(job, (RUNNING,), **values)

    def finish(self, job: str, state: str, error: str | None = None) -> bool:
        """Ends the job and erases its passwords, in one transaction."""
        return self._end(job, (QUEUED, RUNNING), state, error)

    def cancel(self, job: str) -> Job:
        """A queued job ends now; a running one at its next batch (the daemon sees the flag)."""
        current = self.get(job)
        if current.ended:
            raise JobError(f"job {job} already ended ({current.state})")
        if not self._end(job, (QUEUED,), CANCELLED):
            self._move(job, (RUNNING,), cancel_requested=True)
        return self.get(job)

    def cancel_requested(self) -> set[str]:
        with self.database.reader() as connection:
            return set(
                connection.scalars(
                    select(import_jobs.c.id).where(
                        import_jobs.c.state == RUNNING, import_jobs.c.cancel_requested.is_(True)
                    )
                )
            )

    def _end(self, job: str, from_states: tuple[str, ...], state: str, error: str | None = None):
        assert state in ENDED
        return self._move(
            job,
            from_states,
            state=state,
            error=error,
            cancel_requested=False,
            finished_at=int(time.time()),
            source_password=None,
            destination_password=None,
        )

    def _move(self, job: str, from_states: tuple[str, ...], **values) -> bool:
        with self.database.transaction() as connection:
            result = connection.execute(
                update(import_jobs)
                .where(import_jobs.c.id == job, import_jobs.c.state.in_(from_states))
                .values(**values)
            )
        return result.rowcount == 1
