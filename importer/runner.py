"""Runs one job to its end: copies, retries transient failures with back-off, records the outcome.

The copy commits once per batch; a cancel or a daemon stop takes effect at
the next commit (or during a back-off wait), so it never splits a batch from
its record. A stopped job goes back to the queue and resumes where it was; a
cancelled one keeps what it copied. The passwords are read from the store for
each run and erased by the store when the job ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from imapclient import IMAPClient

from importer.copy import BatchLimits, Interrupted, copy_account
from importer.credentials import CredentialError
from importer.folders import NOT_SELECTABLE, VIRTUAL_VIEWS
from importer.jobs import CANCELLED, DONE, FAILED, Job, JobError, JobStore
from importer.progress import job_progress
from importer.retry import LabelledEndpoint, PermanentFailure, backoff, classify
from importer.settings import ImporterSettings

logger = logging.getLogger("murmeli.importer")


class Control:
    """How the daemon tells a running job to stop: ``cancel()`` ends it, ``stop()`` requeues it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.event.set()

    def stop(self) -> None:
        self.event.set()


class JobRunner:
    def __init__(
        self, settings: ImporterSettings, store: JobStore, on_end: Callable[[Job], None]
    ) -> None:
        self.settings = settings
        self.store = store
        self.on_end = on_end

    def run(self, job: Job, control: Control) -> None:
        """Copies until done, failed, cancelled or stopped; never raises."""
        try:
            state, reason = self._attempts(job, control)
        except Exception as error:  # a bug or a broken store must not kill the daemon
            logger.exception("import %s: unexpected failure", job.id)
            state, reason = FAILED, f"internal error: {error}"
        if state is None:
            self.store.requeue(job.id)
            logger.info("import %s: stopped; it resumes when the importer runs again", job.id)
            return
        if self.store.finish(job.id, state, reason):
            logger.info("import %s: %s%s", job.id, state, f" ({reason})" if reason else "")
            self.on_end(self.store.get(job.id))

    def _attempts(self, job: Job, control: Control) -> tuple[str | None, str | None]:
        """The final state and reason; state None: the daemon is stopping."""
        settings = self.settings
        attempt, done_before = 0, self._done(job)
        while True:
            try:
                source, destination = self._endpoints(job)
                if job.total_messages is None:
                    self.store.note(job.id, None, total_messages=count_messages(source))
                copy_account(
                    source,
                    destination,
                    self.store.database,
                    job.id,
                    job.prefix,
                    BatchLimits(messages=settings.batch_messages),
                    settings.folders_at_once,
                    control.event,
                )
                return DONE, None
            except Interrupted:
                return (CANCELLED, None) if control.cancelled else (None, None)
            except Exception as error:
                failure = classify(error)
                done_now = self._done(job)
                if done_now > done_before:  # it moved on: count again from the first attempt
                    attempt, done_before = 0, done_now
                if failure.permanent or attempt >= settings.retries:
                    return FAILED, failure.reason
                wait = failure.wait or backoff(attempt, settings.backoff, settings.max_backoff)
                attempt += 1
                logger.warning(
                    "import %s: %s; retry %d in %.0fs", job.id, failure.reason, attempt, wait
                )
                self.store.note(job.id, f"retry {attempt} in {wait:.0f}s after: {failure.reason}")
                if control.event.wait(wait):
                    return (CANCELLED, None) if control.cancelled else (None, None)

    def _endpoints(self, job: Job) -> tuple[LabelledEndpoint, LabelledEndpoint]:
        settings = self.settings
        try:
            source_password, own_password = self.store.passwords(job.id)
        except (CredentialError, JobError) as error:
            raise PermanentFailure(str(error)) from error
        source = LabelledEndpoint(
            job.source_host,
            job.source_port,
            job.source_security,
            job.source_login,
            source_password,
            side="source",
        )
        if own_password is not None:
            login, password = job.destination_login, own_password
        else:
            login = f"{job.destination_login}{settings.master_separator}{settings.master_user}"
            password = master_password(settings)
        destination = LabelledEndpoint(
            settings.host,
            settings.port,
            settings.security,
            login,
            password,
            settings.ca_file,
            side="destination",
        )
        return source, destination

    def _done(self, job: Job) -> int:
        return sum(
            p.copied + p.skipped + p.failed for p in job_progress(self.store.database, job.id)
        )


def master_password(settings: ImporterSettings) -> str:
    """Read for each run, so a rotated master password needs no restart."""
    assert settings.master_password_file is not None
    try:
        return settings.master_password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise PermanentFailure(f"cannot read importer.master_password_file: {error}") from None


def count_messages(source: LabelledEndpoint) -> int:
    """Messages in every folder the copy reads: the denominator of the progress bar."""
    client: IMAPClient = source.connect()
    try:
        skipped = {flag.casefold() for flag in (*NOT_SELECTABLE, *VIRTUAL_VIEWS)}
        total = 0
        for flags, _, name in client.list_folders():
            if skipped & {flag.decode().casefold() for flag in flags}:
                continue
            total += client.folder_status(name, [b"MESSAGES"])[b"MESSAGES"]
        return total
    finally:
        client.logout()
