"""Copies every folder of one source account into one destination account.

The source is only ever EXAMINEd and read with BODY.PEEK: nothing there
changes, flags included. Each message keeps its bytes, flags and INTERNALDATE.
Messages whose identity is already in the destination folder (or, for a
catch-all such as Gmail's All Mail, anywhere in the account) are skipped.
Progress is committed after every batch, with the identities it added, so a
run killed at any point resumes without loss and without doubles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imapclient import IMAPClient

from davserver.database import Database
from importer.connection import ImapEndpoint
from importer.destination import append_messages, ensure_folder
from importer.folders import SPECIAL_USES, FolderMapping, SourceFolder, plan_folders
from importer.index import DestinationIndex
from importer.progress import FolderProgress, load_progress
from importer.summaries import MessageSummary, chunks, summarise, uids_after


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
) -> list[FolderProgress]:
    """Copies every folder; returns the progress of each, in the order copied."""
    source_client = source.connect()
    try:
        destination_client = destination.connect()
        try:
            plan, delimiter = read_plan(source_client, destination_client, prefix)
            index = DestinationIndex(database, destination.login)
            copier = FolderCopy(source_client, destination_client, index, job, limits, delimiter)
            return [copier.run(mapping) for mapping in plan]
        finally:
            destination_client.logout()
    finally:
        source_client.logout()


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
    def __init__(
        self,
        source: IMAPClient,
        destination: IMAPClient,
        index: DestinationIndex,
        job: str,
        limits: BatchLimits,
        delimiter: str,
    ) -> None:
        self.source = source
        self.destination = destination
        self.index = index
        self.job = job
        self.limits = limits
        self.delimiter = delimiter

    def run(self, mapping: FolderMapping) -> FolderProgress:
        database = self.index.database
        progress = load_progress(database, self.job, mapping.source, mapping.destination)
        uidvalidity = self.source.select_folder(mapping.source, readonly=True)[b"UIDVALIDITY"]
        if progress.uidvalidity != uidvalidity:
            progress.uidvalidity, progress.last_uid = uidvalidity, 0
        ensure_folder(self.destination, mapping.destination, self.delimiter)
        mailbox = self.index.refresh(self.destination, mapping.destination)
        batch = _Batch(self, progress, mapping, mailbox)
        for uids in chunks(uids_after(self.source, progress.last_uid)):
            summaries = summarise(self.source, uids)
            known = self.index.known(
                None if mapping.catch_all else mailbox, {s.identity for s in summaries}
            )
            for summary in summaries:
                batch.consider(summary, duplicate=summary.identity in known)
            batch.flush(through=uids[-1])
        self.source.unselect_folder()
        return progress


class _Batch:
    """Messages waiting for one APPEND, and the skips since the last commit."""

    def __init__(
        self, copy: FolderCopy, progress: FolderProgress, mapping: FolderMapping, mailbox: int
    ) -> None:
        self.copy = copy
        self.progress = progress
        self.mapping = mapping
        self.mailbox = mailbox
        self.pending: list[MessageSummary] = []
        self.seen: set[str] = set()

    def consider(self, summary: MessageSummary, duplicate: bool) -> None:
        if duplicate or summary.identity in self.seen:
            self.progress.skipped += 1
        else:
            self.seen.add(summary.identity)
            self.pending.append(summary)
        limits = self.copy.limits
        if len(self.pending) >= limits.messages or (
            sum(s.size for s in self.pending) >= limits.bytes
        ):
            self.flush(through=summary.uid)

    def flush(self, through: int) -> None:
        """Copies the pending messages, then commits them with the resume point ``through``."""
        appended = self._copy(self.pending) if self.pending else []
        self.progress.failed += len(self.pending) - len(appended)
        self.progress.copied += len(appended)
        self.progress.bytes += sum(summary.size for summary in appended)
        self.progress.last_uid = through
        with self.copy.index.database.transaction() as connection:
            self.copy.index.add(connection, self.mailbox, (s.identity for s in appended))
            self.progress.save(connection)
        self.pending = []

    def _copy(self, summaries: Sequence[MessageSummary]) -> list[MessageSummary]:
        fetched = self.copy.source.fetch([s.uid for s in summaries], [b"BODY.PEEK[]"])
        messages = [
            (summary, fetched[summary.uid][b"BODY[]"])
            for summary in summaries
            if b"BODY[]" in fetched.get(summary.uid, {})
        ]
        return append_messages(self.copy.destination, self.mapping.destination, messages)
