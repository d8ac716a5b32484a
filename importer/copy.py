"""Copies every folder of one source account into one destination account.

The source is only ever EXAMINEd and read with BODY.PEEK: nothing there
changes, flags included. Each message keeps its bytes, flags and INTERNALDATE.
Messages whose identity is already in the destination folder (or, for a
catch-all such as Gmail's All Mail, anywhere in the account) are skipped.
Progress is committed after every batch, with the identities it added, so a
run killed at any point resumes without loss and without doubles; a ``stop``
asked for takes effect right after a commit (``Interrupted``), never between a
batch and its record. Reading the
source and writing the destination overlap (see ``FolderCopy``).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imapclient import IMAPClient

from davserver.database import Database
from importer.connection import ImapEndpoint
from importer.destination import append_messages, ensure_folder
from importer.folders import SPECIAL_USES, FolderMapping, SourceFolder, plan_folders
from importer.index import DestinationIndex
from importer.progress import FolderProgress, load_progress
from importer.summaries import MessageSummary, chunks, summarise, uids_after

log = logging.getLogger(__name__)

READ_AHEAD = 2  # batches fetched and waiting for their APPEND: bounds memory to ~3 batches
POLL = 0.05  # seconds between the reader's looks at whether the writer has gone


class Interrupted(Exception):
    """``stop`` was set: raised after the commit of the batch in hand."""


@dataclass(frozen=True)
class BatchLimits:
    """How much one APPEND carries: bounded in count and bytes (a bigger message goes alone)."""

    messages: int = 200
    bytes: int = 8 * 1024 * 1024


def copy_account(
    source: ImapEndpoint,
    destination: ImapEndpoint,
    database: Database,
    job: str,
    prefix: str | None = None,
    limits: BatchLimits = BatchLimits(),
    folders_at_once: int = 1,
    stop: threading.Event | None = None,
) -> list[FolderProgress]:
    """Copies every folder; returns the progress of each, in the order of the plan.

    With ``folders_at_once`` > 1, that many folders are copied at the same
    time, each worker on its own pair of connections: one connection's APPENDs
    leave the destination idle while it waits for the next command. A
    catch-all folder waits for all the others (it copies what they did not).
    """
    with _connected(source, destination) as (source_client, destination_client):
        plan, delimiter = read_plan(source_client, destination_client, prefix)
        for mapping in plan:  # parents first, before workers could race to create them
            ensure_folder(destination_client, mapping.destination, delimiter)
        index = DestinationIndex(database, destination.login)
        workers = _Workers(index, job, limits, stop or threading.Event())
        first = workers.copier(source_client, destination_client)
        ordinary = [mapping for mapping in plan if not mapping.catch_all]
        if folders_at_once > 1 and len(ordinary) > 1:
            ordinary.sort(key=lambda m: _message_count(source_client, m.source), reverse=True)
        workers.run(first, ordinary, source, destination, folders_at_once)
        workers.run(first, [mapping for mapping in plan if mapping.catch_all], source, destination)
        return [workers.done[mapping.source] for mapping in plan]


@contextlib.contextmanager
def _connected(
    source: ImapEndpoint, destination: ImapEndpoint
) -> Iterator[tuple[IMAPClient, IMAPClient]]:
    source_client = source.connect()
    try:
        destination_client = destination.connect()
        try:
            yield source_client, destination_client
        finally:
            destination_client.logout()
    finally:
        source_client.logout()


def _message_count(client: IMAPClient, folder: str) -> int:
    return client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"]


class _Workers:
    """Folders taken from one list by up to N workers; the first error stops them all.

    A worker that cannot open its own connections (a server limiting them)
    is left out with a warning: the others take its folders.
    """

    def __init__(
        self, index: DestinationIndex, job: str, limits: BatchLimits, stop: threading.Event
    ) -> None:
        self.index = index
        self.job = job
        self.limits = limits
        self.stop = stop
        self.abort = threading.Event()
        self.errors: list[BaseException] = []
        self.done: dict[str, FolderProgress] = {}

    def copier(self, source: IMAPClient, destination: IMAPClient) -> FolderCopy:
        return FolderCopy(
            source, destination, self.index, self.job, self.limits, self.abort, self.stop
        )

    def run(
        self,
        first: FolderCopy,
        plan: Sequence[FolderMapping],
        source: ImapEndpoint,
        destination: ImapEndpoint,
        at_once: int = 1,
    ) -> None:
        """Copies ``plan`` on ``first`` and ``at_once - 1`` more connection pairs; raises the
        first error once every worker has stopped."""
        pending: queue.SimpleQueue[FolderMapping] = queue.SimpleQueue()
        for mapping in plan:
            pending.put(mapping)
        extra = [
            threading.Thread(
                target=self._extra, args=(pending, source, destination), name=f"import-{n}"
            )
            for n in range(min(at_once, len(plan)) - 1)
        ]
        for thread in extra:
            thread.start()
        self._work(first, pending)
        for thread in extra:
            thread.join()
        if self.errors:
            raise self.errors[0]

    def _extra(
        self,
        pending: queue.SimpleQueue[FolderMapping],
        source: ImapEndpoint,
        destination: ImapEndpoint,
    ) -> None:
        try:
            with _connected(source, destination) as (source_client, destination_client):
                self._work(self.copier(source_client, destination_client), pending)
        except Exception as error:  # a worker short costs time, not data
            if not self.errors:
                log.warning("import %s: one folder worker less: %s", self.job, error)

    def _work(self, copier: FolderCopy, pending: queue.SimpleQueue[FolderMapping]) -> None:
        while not self.abort.is_set():
            try:
                mapping = pending.get_nowait()
            except queue.Empty:
                return
            try:
                self.done[mapping.source] = copier.run(mapping)
            except BaseException as error:
                self.errors.append(error)
                self.abort.set()
                return


def read_plan(
    source: IMAPClient, destination: IMAPClient, prefix: str | None
) -> tuple[list[FolderMapping], str]:
    """The folder plan from both servers' LIST and NAMESPACE; and the destination's delimiter."""
    listed = [
        SourceFolder(name, _text(delimiter), frozenset(_text(flag) for flag in flags))
        for flags, delimiter, name in source.list_folders()
    ]
    delimiter = _personal_namespace(destination)[1] or "/"
    special = {
        use: name
        for flags, _, name in destination.list_folders()
        for use in SPECIAL_USES
        if use.casefold() in {_text(flag).casefold() for flag in flags}
    }
    source_prefix = _personal_namespace(source)[0]
    return plan_folders(listed, delimiter, special, prefix, source_prefix), delimiter


def _personal_namespace(client: IMAPClient) -> tuple[str, str | None]:
    personal = client.namespace().personal if b"NAMESPACE" in client.capabilities() else None
    if not personal:
        return "", None
    prefix, delimiter = personal[0]
    return _text(prefix), _text(delimiter)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class FolderCopy:
    """Copies one folder at a time: a reader thread fetches ahead while this thread appends.

    The time of a copy is spent waiting on two sockets, so the source is read
    (summaries, duplicate check, bodies) by a ``_FolderReader`` thread up to
    ``READ_AHEAD`` batches ahead, while this thread appends each batch and
    commits it, in order. Each connection is used by one thread at a time: the
    source by the reader while it runs, the destination and the commits here.
    """

    def __init__(
        self,
        source: IMAPClient,
        destination: IMAPClient,
        index: DestinationIndex,
        job: str,
        limits: BatchLimits,
        abort: threading.Event,
        stop: threading.Event,
    ) -> None:
        self.source = source
        self.destination = destination
        self.index = index
        self.job = job
        self.limits = limits
        self.abort = abort  # another worker failed
        self.stop = stop  # the caller asked

    def run(self, mapping: FolderMapping) -> FolderProgress:
        database = self.index.database
        progress = load_progress(database, self.job, mapping.source, mapping.destination)
        mailbox = self.index.refresh(self.destination, mapping.destination)
        with _FolderReader(self, mapping, progress, mailbox) as reader:
            for batch in reader.batches():
                if self.abort.is_set():  # another worker failed: stop at a batch boundary
                    break
                self._commit(progress, mapping, mailbox, batch)
        return progress

    def _commit(
        self, progress: FolderProgress, mapping: FolderMapping, mailbox: int, batch: _Fetched
    ) -> None:
        """Appends ``batch``, then records it with its resume point in one transaction."""
        appended = (
            append_messages(self.destination, mapping.destination, batch.messages)
            if batch.messages
            else []
        )
        progress.skipped += batch.skipped
        progress.failed += batch.wanted - len(appended)
        progress.copied += len(appended)
        progress.bytes += sum(summary.size for summary in appended)
        progress.uidvalidity, progress.last_uid = batch.uidvalidity, batch.through
        with self.index.database.transaction() as connection:
            self.index.add(connection, mailbox, (s.identity for s in appended))
            progress.save(connection)
        if self.stop.is_set():
            raise Interrupted


@dataclass(frozen=True)
class _Fetched:
    """One APPEND read ahead: the bodies, what was asked and skipped, and the resume point."""

    messages: list[tuple[MessageSummary, bytes]]
    wanted: int  # messages asked for; those the source no longer returned count as failed
    skipped: int
    uidvalidity: int
    through: int


class _Stopped(Exception):
    """The writer is gone (done, failed or interrupted): the reader ends without a word."""


_END = object()


class _FolderReader:
    """A thread reading one source folder into a bounded queue, in the order of its UIDs.

    It ends after the folder, after its first error (handed to the writer
    through the queue and raised there), or when the writer leaves the
    ``with`` block for any reason: leaving always waits for the thread.
    """

    def __init__(
        self, copy: FolderCopy, mapping: FolderMapping, progress: FolderProgress, mailbox: int
    ) -> None:
        self.copy = copy
        self.mapping = mapping
        self.mailbox = mailbox
        self.uidvalidity, self.last_uid = progress.uidvalidity, progress.last_uid
        self.queue: queue.Queue[_Fetched | BaseException | object] = queue.Queue(READ_AHEAD)
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"import-{copy.job}-read", daemon=True
        )

    def __enter__(self) -> _FolderReader:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join()

    def batches(self) -> Iterator[_Fetched]:
        """The batches in order; raises what the reader raised, where the writer is."""
        while (item := self.queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _run(self) -> None:
        try:
            self._read()
            self.put(_END)
        except _Stopped:
            return
        except Exception as error:
            with contextlib.suppress(_Stopped):
                self.put(error)

    def _read(self) -> None:
        source, index, mapping = self.copy.source, self.copy.index, self.mapping
        uidvalidity = source.select_folder(mapping.source, readonly=True)[b"UIDVALIDITY"]
        last_uid = self.last_uid if uidvalidity == self.uidvalidity else 0
        batch = _Batch(self, uidvalidity)
        for uids in chunks(uids_after(source, last_uid)):
            summaries = summarise(source, uids)
            known = index.known(
                None if mapping.catch_all else self.mailbox, {s.identity for s in summaries}
            )
            for summary in summaries:
                batch.consider(summary, duplicate=summary.identity in known)
            batch.flush(through=uids[-1])
        source.unselect_folder()

    def put(self, item: object) -> None:
        """Waits for room in the queue, unless the writer has gone."""
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=POLL)
                return
            except queue.Full:
                continue
        raise _Stopped


class _Batch:
    """Messages waiting for one APPEND, and the skips since the last one: the reader's side."""

    def __init__(self, reader: _FolderReader, uidvalidity: int) -> None:
        self.reader = reader
        self.uidvalidity = uidvalidity
        self.pending: list[MessageSummary] = []
        self.pending_bytes = 0
        self.skipped = 0
        self.seen: set[str] = set()

    def consider(self, summary: MessageSummary, duplicate: bool) -> None:
        if duplicate or summary.identity in self.seen:
            self.skipped += 1
        else:
            self.seen.add(summary.identity)
            self.pending.append(summary)
            self.pending_bytes += summary.size
        limits = self.reader.copy.limits
        if len(self.pending) >= limits.messages or self.pending_bytes >= limits.bytes:
            self.flush(through=summary.uid)

    def flush(self, through: int) -> None:
        """Fetches the pending messages and queues them with the resume point ``through``."""
        fetched = self._fetch(self.pending) if self.pending else []
        self.reader.put(
            _Fetched(fetched, len(self.pending), self.skipped, self.uidvalidity, through)
        )
        self.pending, self.pending_bytes, self.skipped = [], 0, 0

    def _fetch(self, summaries: Sequence[MessageSummary]) -> list[tuple[MessageSummary, bytes]]:
        fetched = self.reader.copy.source.fetch([s.uid for s in summaries], [b"BODY.PEEK[]"])
        return [
            (summary, fetched[summary.uid][b"BODY[]"])
            for summary in summaries
            if b"BODY[]" in fetched.get(summary.uid, {})
        ]
