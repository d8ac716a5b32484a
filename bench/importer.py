"""IMAP bulk import: Murmeli's copy engine against a bare FETCH + MULTIAPPEND copy, mbsync and
offlineimap3, between two local Dovecots.

Run ``.venv/bin/python bench/importer.py`` (``--quick``: 500 messages, 2 rounds). The script

1. starts two throw-away Dovecots on 127.0.0.1 (``tests/dovecot_process.py``), a
   source and a destination, with Dovecot's default durability (``mail_fsync =
   optimized``: a mail server that says OK to an APPEND has the message on disk),
   as production servers run; the tests use ``never``, which would hide what each
   APPEND costs;
2. generates a corpus once, deterministically (fixed seed), and loads it into one
   source account with MULTIAPPEND: 20,000 messages over 8 folders (INBOX, Sent,
   Drafts, Trash, Junk, Archive, Archive/2019, Projects), log-normal sizes (median
   ~20 KB, ~570 MB in all), a third multipart with a base64 attachment, some 8-bit
   UTF-8 bodies, 2% without Message-ID, system flags and keywords, INTERNALDATEs
   spread over 12 years in several zones; every message carries ``X-Bench-Serial``
   so copies are matched whatever their UID;
3. copies the whole source account, once per contender, into a new destination
   account (wall-clock time, logins included):

   * **raw**: the floor, written here with imapclient: as many connection pairs
     as Murmeli uses (``importer.folders_at_once``), each taking the next folder
     (largest first), EXAMINE, then FETCH ``BODY.PEEK[] FLAGS INTERNALDATE`` of
     100 messages at a time and one MULTIAPPEND of them; no identity, no state;
   * **Murmeli**: ``importer.copy.copy_account`` in this process with a fresh
     SQLite database, ``importer.folders_at_once`` (default 3) folders at a
     time; then two re-runs over the imported account with nothing to copy: a
     new job on the same database, and a new job with the database lost (the
     identity index rebuilt from the destination);
   * **Murmeli daemon**: the same copy as users run it, through the CLI: ``murmeli
     importer`` already running, the time from ``murmeli import add`` to the job
     ``done`` in the database;
   * **mbsync** (Debian ``isync``, installed with apt-get if missing): one
     ``Sync Pull`` channel, ``Patterns *``, ``Create Near``, ``CopyArrivalDate yes``;
   * **offlineimap3** (Debian ``offlineimap3``): IMAP to IMAP, source read-only,
     defaults otherwise, stopped after ``--offlineimap-timeout`` seconds (mbsync
     after 30 minutes); a copy stopped so shows as "> N s", and is not run again;

   in ``--rounds`` rounds (default 3), each contender once a round into a new
   account, the order rotated each round;
4. verifies each copy: every folder holds the source's messages, each once (a
   failure stops the bench with exit status 1 and no table), and on a sample of
   messages whether bytes, flags (keywords included, ``\\Recent`` aside) and
   INTERNALDATE (the instant: maildir keeps no zone) are identical; for raw and
   Murmeli anything but 100% is a failure, as is a re-run that copies anything;
5. prints the median seconds, messages/s, MB/s and the ratios to the targets,
   each a peer's time over Murmeli's (higher = Murmeli faster): Murmeli >= 1.5x
   mbsync, >= 0.75x raw; a re-run under 5 s. Plain text, then Markdown.
"""

from __future__ import annotations

import argparse
import base64
import math
import queue
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import exit_status, print_report, rotated, speed_ratio, timed_out, verify
from davserver.database import Database
from importer.connection import ImapEndpoint
from importer.copy import copy_account
from importer.settings import ImporterSettings
from tests.dovecot_process import DovecotServer, available
from tests.murmeli_process import MURMELI, MurmeliServer

SEED = 20240501
PASSWORD = "bench-password-1"
SERIAL_HEADER = "X-Bench-Serial"
SERIAL_ITEM = f"BODY.PEEK[HEADER.FIELDS ({SERIAL_HEADER.upper()})]".encode()
SERIAL_KEY = SERIAL_ITEM.replace(b".PEEK", b"")
MB = 1_000_000
FSYNC = "optimized"  # Dovecot's default
MBSYNC_LIMIT = 1800.0  # seconds

# Folder, share of the messages, and the flags its messages tend to have.
FOLDERS = (
    ("INBOX", 0.34),
    ("Archive", 0.18),
    ("Archive/2019", 0.10),
    ("Sent", 0.14),
    ("Projects", 0.10),
    ("Trash", 0.06),
    ("Junk", 0.05),
    ("Drafts", 0.03),
)
KEYWORDS = ("$Forwarded", "$MDNSent", "Work", "$Label1", "Important-Client")
ZONES = tuple(timezone(timedelta(hours=h)) for h in (-8, -5, 0, 1, 2, 5.5, 9))
_VOCABULARY = (
    "the of and to in is that for it as with was on be by at this have from or an they which "
    "one you were all we when there can more if no out so said what up its about into than "
    "them only other new some could time these two may then first any my now such like our "
    "over man me even most made after also did many before must through back years where "
    "invoice meeting schedule report budget project deadline review draft release server "
    "Grüße Zürich ça déjà façon Straße naïve Ångström señor über"
)
WORDS = tuple(_VOCABULARY.split())

# Log-normal sizes: median 20 KB; sigma chosen so the mean is ~28.5 KB (20,000 -> ~570 MB).
MEDIAN_SIZE = 20_000
SIGMA = 0.84
MIN_SIZE, MAX_SIZE = 700, 6_000_000


@dataclass(frozen=True)
class Message:
    serial: int
    folder: str
    body: bytes
    flags: tuple[str, ...]
    internal_date: datetime


class Pools:
    """Pre-built text and base64 so that generating 570 MB is slicing, not composing."""

    def __init__(self, rng: random.Random) -> None:
        lines = []
        for _ in range(40_000):
            words = rng.choices(WORDS, k=rng.randint(6, 14))
            lines.append(" ".join(words))
        self.text = ("\r\n".join(lines) + "\r\n").encode()
        raw = rng.randbytes(3 * 1024 * 1024)
        encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")
        self.base64 = encoded
        self.base64_line = encoded.index(b"\r\n") + 2

    def text_slice(self, rng: random.Random, size: int) -> bytes:
        size = min(size, len(self.text) // 2)
        start = self.text.index(b"\r\n", rng.randrange(len(self.text) - size - 200)) + 2
        end = self.text.index(b"\r\n", start + size) + 2
        return self.text[start:end]

    def base64_slice(self, rng: random.Random, size: int) -> bytes:
        """Whole base64 lines; attachments larger than the pool repeat it."""
        lines = max(1, size // self.base64_line)
        start = rng.randrange(len(self.base64) // self.base64_line) * self.base64_line
        doubled_needed = start + lines * self.base64_line
        data = self.base64
        while len(data) < doubled_needed:
            data += self.base64
        return data[start:doubled_needed]


def generate_corpus(count: int) -> list[Message]:
    rng = random.Random(SEED)
    pools = Pools(rng)
    folders, weights = zip(*FOLDERS, strict=True)
    start = datetime(2012, 1, 1, tzinfo=UTC)
    span = (datetime(2024, 6, 1, tzinfo=UTC) - start).total_seconds()
    messages = []
    for serial in range(count):
        folder = rng.choices(folders, weights)[0]
        moment = start + timedelta(seconds=rng.uniform(0, span))
        internal_date = moment.astimezone(rng.choice(ZONES)).replace(microsecond=0)
        size = int(min(MAX_SIZE, max(MIN_SIZE, rng.lognormvariate(math.log(MEDIAN_SIZE), SIGMA))))
        body = compose(rng, pools, serial, folder, internal_date, size)
        messages.append(Message(serial, folder, body, flags_for(rng, folder), internal_date))
    return messages


def compose(
    rng: random.Random, pools: Pools, serial: int, folder: str, date: datetime, size: int
) -> bytes:
    sent = folder in ("Sent", "Drafts")
    sender = "alice@example.org" if sent else f"Sender {serial % 997} <s{serial % 997}@example.net>"
    headers = [
        f"Return-Path: <s{serial % 997}@example.net>",
        f"Received: from mx{serial % 7}.example.net by mx.example.org; "
        f"{_rfc5322(date + timedelta(seconds=3))}",
        f"From: {sender}",
        "To: Alice <alice@example.org>",
        f"Subject: {' '.join(rng.choices(WORDS, k=rng.randint(2, 8)))} #{serial}",
        f"Date: {_rfc5322(date - timedelta(seconds=rng.randint(1, 600)))}",
        f"{SERIAL_HEADER}: {serial}",
    ]
    if rng.random() >= 0.02:
        headers.append(f"Message-ID: <{serial}.{rng.getrandbits(48):x}@example.net>")
    headers.append("MIME-Version: 1.0")
    if rng.random() < 0.33 and size > 4_000:
        text = pools.text_slice(rng, rng.randint(300, 3_000))
        attachment = pools.base64_slice(rng, size - len(text) - 1_200)
        headers.append(f'Content-Type: multipart/mixed; boundary="=_b{serial}"')
        body = (
            f"--=_b{serial}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        body += (
            text
            + (
                f'--=_b{serial}\r\nContent-Type: application/pdf; name="doc{serial}.pdf"\r\n'
                "Content-Transfer-Encoding: base64\r\n"
                f'Content-Disposition: attachment; filename="doc{serial}.pdf"\r\n\r\n'
            ).encode()
        )
        body += attachment + f"--=_b{serial}--\r\n".encode()
    else:
        headers.append("Content-Type: text/plain; charset=utf-8")
        headers.append("Content-Transfer-Encoding: 8bit")
        body = pools.text_slice(rng, max(100, size - 600))
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def _rfc5322(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z")


def flags_for(rng: random.Random, folder: str) -> tuple[str, ...]:
    if folder == "Drafts":
        return (r"\Draft",)
    read = folder in ("Sent", "Archive", "Archive/2019") or rng.random() < 0.7
    flags = [r"\Seen"] if read else []
    if rng.random() < 0.1:
        flags.append(r"\Answered")
    if rng.random() < 0.05:
        flags.append(r"\Flagged")
    if rng.random() < 0.12:
        flags += rng.sample(KEYWORDS, rng.randint(1, 2))
    return tuple(flags)


def batches(items: Sequence, count: int, size: Callable[[object], int], limit: int) -> Iterator:
    """Consecutive runs of ``items``: at most ``count`` items and about ``limit`` bytes each."""
    run: list = []
    weight = 0
    for item in items:
        run.append(item)
        weight += size(item)
        if len(run) >= count or weight >= limit:
            yield run
            run, weight = [], 0
    if run:
        yield run


def load_source(endpoint: ImapEndpoint, messages: Sequence[Message]) -> None:
    client = endpoint.connect()
    try:
        existing = {name for _, _, name in client.list_folders()}
        for folder, _ in FOLDERS:
            if folder not in existing:
                client.create_folder(folder)
                client.subscribe_folder(folder)
        for folder, _ in FOLDERS:
            mine = [m for m in messages if m.folder == folder]
            for run in batches(mine, 200, lambda m: len(m.body), 8 * MB):
                client.multiappend(
                    folder,
                    [{"msg": m.body, "flags": m.flags, "date": m.internal_date} for m in run],
                )
    finally:
        client.logout()


# --- contenders -------------------------------------------------------------------------


def raw_copy(source: ImapEndpoint, destination: ImapEndpoint, connections: int) -> None:
    """FETCH 100 messages, MULTIAPPEND them, on ``connections`` pairs of connections taking
    folders largest first, as Murmeli's workers do: the floor of a copy with as many."""
    reader, writer = source.connect(), destination.connect()
    try:
        existing = {name for _, _, name in writer.list_folders()}
        folders = [name for flags, _, name in reader.list_folders() if b"\\Noselect" not in flags]
        for folder in folders:
            if folder not in existing:
                writer.create_folder(folder)
        sizes = {f: reader.folder_status(f, [b"MESSAGES"])[b"MESSAGES"] for f in folders}
    finally:
        reader.logout()
        writer.logout()
    pending: queue.SimpleQueue[str] = queue.SimpleQueue()
    for folder in sorted(folders, key=sizes.__getitem__, reverse=True):
        pending.put(folder)
    at_once = min(connections, len(folders))
    with ThreadPoolExecutor(at_once) as pool:
        workers = [pool.submit(raw_worker, source, destination, pending) for _ in range(at_once)]
    for worker in workers:
        worker.result()


def raw_worker(source: ImapEndpoint, destination: ImapEndpoint, pending: queue.SimpleQueue) -> None:
    reader, writer = source.connect(), destination.connect()
    try:
        while True:
            try:
                folder = pending.get_nowait()
            except queue.Empty:
                return
            reader.select_folder(folder, readonly=True)
            uids = reader.search("ALL")
            for start in range(0, len(uids), 100):
                fetched = reader.fetch(
                    uids[start : start + 100], [b"BODY.PEEK[]", b"FLAGS", b"INTERNALDATE"]
                )
                writer.multiappend(
                    folder,
                    [
                        {
                            "msg": data[b"BODY[]"],
                            "flags": [f.decode() for f in data[b"FLAGS"] if f != b"\\Recent"],
                            "date": data[b"INTERNALDATE"],
                        }
                        for _, data in sorted(fetched.items())
                    ],
                )
            reader.unselect_folder()
    finally:
        reader.logout()
        writer.logout()


def murmeli_copy(
    source: ImapEndpoint, destination: ImapEndpoint, database: Path, job: str, expected: int
) -> int:
    """Copies with Murmeli's engine; how many messages it copied (the rest it skipped)."""
    database_url = f"sqlite:///{database}"
    at_once = ImporterSettings().folders_at_once
    progress = copy_account(
        source, destination, Database(database_url), job, folders_at_once=at_once
    )
    copied = sum(p.copied for p in progress)
    skipped = sum(p.skipped for p in progress)
    failed = sum(p.failed for p in progress)
    verify(
        "messages copied, skipped, failed", f"Murmeli {job}", (copied, skipped, failed),
        (copied, expected - copied, 0),
    )  # fmt: skip
    return copied


class MurmeliImporter:
    """``murmeli importer`` on its own data folder; jobs queued with ``murmeli import add``."""

    def __init__(self, root: Path, destination: DovecotServer) -> None:
        root.mkdir()
        self.root = root
        config = root / "murmeli.yaml"
        config.write_text(
            f"importer:\n  host: {destination.host}\n  port: {destination.port}\n"
            "  security: none\n  poll_interval: 100ms\n"
        )
        self.murmeli = MurmeliServer(root / "data", config)
        self.daemon: subprocess.Popen | None = None

    def start(self) -> None:
        """Creates the database first: two processes creating it at once can fail "locked"."""
        created = self.murmeli.cli("import", "status")
        if created.returncode:
            raise RuntimeError(f"murmeli import status: {created.stderr.strip()}")
        with open(self.root / "importer.log", "w") as log:
            self.daemon = subprocess.Popen(
                [*MURMELI, "importer"],
                env=self.murmeli.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        time.sleep(1)

    def copy(self, source: ImapEndpoint, destination: ImapEndpoint, expected: int) -> None:
        """Queues the job and waits for it to end: what a user would wait for."""
        password_file = self.root / f"{destination.login}.password"
        password_file.write_text(destination.password + "\n")
        added = self.murmeli.cli(
            "import", "add", "--from", source.login, "--to", destination.login,
            "--server", f"{source.host}:{source.port}", "--security", "none",
            "--allow-plaintext", "--to-password-file", str(password_file), "--password-stdin",
            stdin=source.password + "\n",
        )  # fmt: skip
        if added.returncode:
            raise RuntimeError(f"murmeli import add: {added.stderr.strip()}")
        job = added.stdout.splitlines()[-1]
        while (state := self._state(job))[0] not in ("done", "failed", "cancelled"):
            time.sleep(0.05)
        if state[0] != "done":
            log = (self.root / "importer.log").read_text()[-800:]
            raise RuntimeError(f"murmeli import {job}: {state[0]}\n{log}")
        verify("messages copied", "Murmeli daemon", state[1], expected)

    def _state(self, job: str) -> tuple[str, int]:
        """State and messages copied, read from the database as ``import status`` would."""
        with sqlite3.connect(self.murmeli.data / "murmeli.sqlite3", timeout=10) as database:
            (state,) = database.execute(
                "SELECT state FROM import_jobs WHERE id = ?", (job,)
            ).fetchone()
            (copied,) = database.execute(
                "SELECT COALESCE(SUM(copied), 0) FROM import_progress WHERE job = ?", (job,)
            ).fetchone()
        return state, copied

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.send_signal(signal.SIGTERM)
            self.daemon.wait(timeout=60)
            self.daemon = None


def ensure_tool(command: str, package: str) -> str | None:
    """The tool's path, installing its Debian package first if needed (as root only)."""
    found = shutil.which(command)
    if found:
        return found
    print(f"{command} missing: apt-get install -y {package} ...", flush=True)
    result = subprocess.run(
        ["apt-get", "install", "-y", package],
        capture_output=True,
        text=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    if result.returncode:
        print(f"  could not install {package}: {result.stderr.strip()[-300:]}")
        return None
    return shutil.which(command)


def mbsync_copy(source: ImapEndpoint, destination: ImapEndpoint, work: Path, limit: float) -> None:
    config = work / "mbsyncrc"
    accounts = "".join(
        f"IMAPAccount {name}\nHost {e.host}\nPort {e.port}\nUser {e.login}\nPass {e.password}\n"
        f"SSLType None\nAuthMechs LOGIN\n\nIMAPStore {name}\nAccount {name}\n\n"
        for name, e in (("source", source), ("destination", destination))
    )
    config.write_text(
        accounts + "Channel copy\nFar :source:\nNear :destination:\nPatterns *\n"
        "Create Near\nSync Pull\nExpunge None\nRemove None\nCopyArrivalDate yes\n"
        f"SyncState {work}/state/\n"
    )
    (work / "state").mkdir()
    run_tool(["mbsync", "-q", "-c", str(config), "copy"], timeout=limit)


def offlineimap_copy(
    source: ImapEndpoint, destination: ImapEndpoint, work: Path, timeout: float
) -> None:
    config = work / "offlineimaprc"
    repositories = "".join(
        f"[Repository {name}]\ntype = IMAP\nremotehost = {e.host}\nremoteport = {e.port}\n"
        f"remoteuser = {e.login}\nremotepass = {e.password}\nssl = no\nstarttls = no\n"
        f"{extra}\n"
        for name, e, extra in (
            ("source", source, "readonly = True\n"),
            ("destination", destination, ""),
        )
    )
    config.write_text(
        f"[general]\naccounts = bench\nmetadata = {work}/metadata\nui = quiet\n\n"
        "[Account bench]\nlocalrepository = destination\nremoterepository = source\n\n"
        + repositories
    )
    run_tool(["offlineimap", "-o", "-c", str(config)], timeout=timeout)


def run_tool(command: list[str], timeout: float) -> None:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if result.returncode:
        raise RuntimeError(
            f"{command[0]} exited {result.returncode}: {(result.stderr or result.stdout)[-800:]}"
        )


# --- verification -----------------------------------------------------------------------


@dataclass
class Exactness:
    sampled: int = 0
    bytes_equal: int = 0
    flags_equal: int = 0
    dates_equal: int = 0

    def share(self, count: int) -> str:
        return f"{100 * count / self.sampled:.0f}%" if self.sampled else "n/a"


def folder_serials(client: IMAPClient, folder: str) -> dict[int, int]:
    """Serial -> UID of every message of ``folder``; a serial found twice (a message copied
    twice) raises ``Mismatch``."""
    client.select_folder(folder, readonly=True)
    uids = client.search("ALL")
    fetched = client.fetch(uids, [SERIAL_ITEM]) if uids else {}
    client.unselect_folder()
    serials = {}
    for uid, data in fetched.items():
        serial = int(data[SERIAL_KEY].split(b":", 1)[1].strip())
        verify(f"{folder}: message {serial} found twice", "copy", serial in serials, False)
        serials[serial] = uid
    return serials


def check_copy(
    name: str, source: ImapEndpoint, destination: ImapEndpoint, stride: int
) -> Exactness:
    """Raises ``Mismatch`` unless every folder holds the source's messages, each once;
    measures exactness on every ``stride``-th message."""
    reader, writer = source.connect(), destination.connect()
    exactness = Exactness()
    try:
        for folder, _ in FOLDERS:
            theirs = folder_serials(reader, folder)
            ours = folder_serials(writer, folder)
            verify(f"{folder}'s messages", name, set(ours), set(theirs))
            sample = sorted(theirs)[::stride]
            compare(reader, writer, folder, [(theirs[s], ours[s]) for s in sample], exactness)
    finally:
        reader.logout()
        writer.logout()
    return exactness


def compare(
    reader: IMAPClient,
    writer: IMAPClient,
    folder: str,
    pairs: Sequence[tuple[int, int]],
    exactness: Exactness,
) -> None:
    items = [b"BODY.PEEK[]", b"FLAGS", b"INTERNALDATE"]
    for run in batches(pairs, 100, lambda _: 1, 100):
        reader.select_folder(folder, readonly=True)
        original = reader.fetch([s for s, _ in run], items)
        writer.select_folder(folder, readonly=True)
        copy = writer.fetch([d for _, d in run], items)
        for source_uid, destination_uid in run:
            a, b = original[source_uid], copy[destination_uid]
            exactness.sampled += 1
            exactness.bytes_equal += a[b"BODY[]"] == b[b"BODY[]"]
            exactness.flags_equal += _flags(a) == _flags(b)
            exactness.dates_equal += a[b"INTERNALDATE"] == b[b"INTERNALDATE"]


def _flags(data: dict) -> set[bytes]:
    return {flag.lower() for flag in data[b"FLAGS"]} - {b"\\recent"}


# --- running and reporting ----------------------------------------------------------------


@dataclass
class Result:
    """A contender's copies, one a round; timed out or failed rounds are shown, not dropped."""

    name: str
    messages: int  # per copy (0: a re-run with nothing to copy)
    megabytes: float
    note: str = ""
    times: list[float] = field(default_factory=list)
    timeout: float | None = None  # stopped at this limit: shown as "> N s"
    failed: str = ""
    exactness: Exactness | None = None  # of the last round's copy

    @property
    def seconds(self) -> float | None:
        return statistics.median(self.times) if self.times and not self.timeout else None

    def cells(self) -> list[str]:
        """seconds, msg/s, MB/s: medians, or bounds for a copy stopped at its limit."""
        if self.timeout:
            limit = self.timeout
            return [
                timed_out(limit),
                f"< {self.messages / limit:.0f}",
                f"< {self.megabytes / limit:.1f}",
            ]
        if self.seconds is None:
            return ["-", "-", "-"]
        if not self.messages:
            return [f"{self.seconds:.2f}", "-", "-"]
        rate = self.messages / self.seconds
        return [f"{self.seconds:.2f}", f"{rate:.0f}", f"{self.megabytes / self.seconds:.1f}"]


@dataclass
class Contender:
    name: str
    copy: Callable[[ImapEndpoint, Path], None]  # into a new account, with a work folder
    exact: bool = False  # bytes, flags and dates must be kept (ours); peers' are shown
    note: str = ""
    limit: float | None = None  # seconds before the copy is stopped
    after: Callable[[ImapEndpoint, Path], None] | None = None  # e.g. Murmeli's re-runs


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="murmeli-bench-importer-"))
        self.source_server = DovecotServer(mail_fsync=FSYNC)
        self.destination_server = DovecotServer(mail_fsync=FSYNC)
        self.corpus: list[Message] = []
        self.source: ImapEndpoint | None = None
        self.results: dict[str, Result] = {}
        self.daemon: MurmeliImporter | None = None

    def endpoint(self, server: DovecotServer, name: str) -> ImapEndpoint:
        login = server.add_user(f"{name}@example.org", PASSWORD)
        return ImapEndpoint(server.host, server.port, "none", login, PASSWORD)

    def prepare(self) -> None:
        self.source_server.start()
        self.destination_server.start()
        started = time.monotonic()
        self.corpus = generate_corpus(self.args.messages)
        total = sum(len(m.body) for m in self.corpus)
        sizes = sorted(len(m.body) for m in self.corpus)
        print(
            f"corpus: {len(self.corpus)} messages, {total / MB:.0f} MB, median "
            f"{sizes[len(sizes) // 2] / 1000:.1f} KB, largest {sizes[-1] / MB:.1f} MB "
            f"(generated in {time.monotonic() - started:.1f} s)",
            flush=True,
        )
        self.source = self.endpoint(self.source_server, "source")
        started = time.monotonic()
        load_source(self.source, self.corpus)
        print(f"loaded into the source with MULTIAPPEND in {time.monotonic() - started:.1f} s")

    @property
    def megabytes(self) -> float:
        return sum(len(m.body) for m in self.corpus) / MB

    @property
    def stride(self) -> int:
        return max(1, len(self.corpus) // self.args.sample)

    def result(self, name: str, messages: int | None = None, note: str = "") -> Result:
        if name not in self.results:
            count = len(self.corpus) if messages is None else messages
            self.results[name] = Result(name, count, self.megabytes if count else 0.0, note)
        return self.results[name]

    def contend(self, contender: Contender, turn: int) -> None:
        result = self.result(contender.name, note=contender.note)
        if result.timeout or result.failed:
            return
        slug = re.sub(r"\W+", "-", contender.name.lower()) + f"-{turn}"
        destination = self.endpoint(self.destination_server, slug)
        work = self.work / slug
        work.mkdir()
        print(f"{contender.name} ...", flush=True)
        started = time.monotonic()
        try:
            contender.copy(destination, work)
        except subprocess.TimeoutExpired:
            print(f"  stopped after {contender.limit:.0f} s", flush=True)
            result.timeout = contender.limit
            result.note = f"stopped at its limit ({contender.limit:.0f} s)"
            return
        except RuntimeError as failure:  # a peer tool that exits with an error
            if contender.exact:
                raise
            result.failed = str(failure).splitlines()[0][:200]
            result.note = f"failed: {result.failed}"
            return
        seconds = time.monotonic() - started
        exactness = check_copy(contender.name, self.source, destination, self.stride)
        if contender.exact:
            e = exactness
            same = (e.bytes_equal, e.flags_equal, e.dates_equal)
            verify("sampled messages with equal bytes, flags, dates", contender.name, same,
                   (e.sampled,) * 3)  # fmt: skip
        result.times.append(seconds)
        result.exactness = exactness
        print(f"  {seconds:.1f} s, {len(self.corpus) / seconds:.0f} msg/s", flush=True)
        if contender.after is not None:
            contender.after(destination, work)

    def contenders(self) -> list[Contender]:
        source, count = self.source, len(self.corpus)
        assert source is not None
        at_once = ImporterSettings().folders_at_once
        contenders = [
            Contender(
                "raw FETCH+MULTIAPPEND", lambda d, _: raw_copy(source, d, at_once), True,
                f"{at_once} connection pairs, as Murmeli",
            ),
            Contender(
                "Murmeli",
                lambda d, work: murmeli_copy(source, d, work / "murmeli.sqlite3", "bench-1", count),
                True, after=self.rerun,
            ),
        ]  # fmt: skip
        if self.daemon is not None:
            daemon = self.daemon
            contenders.append(
                Contender(
                    "Murmeli daemon",
                    lambda d, _: daemon.copy(source, d, count),
                    True,
                    "import add -> job done",
                )
            )
        if ensure_tool("mbsync", "isync"):
            contenders.append(
                Contender(
                    "mbsync",
                    lambda d, work: mbsync_copy(source, d, work, MBSYNC_LIMIT),
                    note="adds X-TUID to every message",
                    limit=MBSYNC_LIMIT,
                )
            )
        else:
            self.result("mbsync").failed = "isync not installable"
        limit = self.args.offlineimap_timeout
        if ensure_tool("offlineimap", "offlineimap3"):
            contenders.append(
                Contender(
                    "offlineimap3",
                    lambda d, work: offlineimap_copy(source, d, work, limit),
                    limit=limit,
                )
            )
        else:
            self.result("offlineimap3").failed = "offlineimap3 not installable"
        return contenders

    def rerun(self, destination: ImapEndpoint, work: Path) -> None:
        """Murmeli again over what it copied: nothing may be copied twice."""
        assert self.source is not None
        for name, database, job in (
            ("Murmeli re-run (index kept)", work / "murmeli.sqlite3", "bench-2"),
            ("Murmeli re-run (index lost)", work / "lost.sqlite3", "bench-3"),
        ):
            started = time.monotonic()
            copied = murmeli_copy(self.source, destination, database, job, len(self.corpus))
            seconds = time.monotonic() - started
            verify("messages copied again", name, copied, 0)
            print(f"{name}: {seconds:.2f} s", flush=True)
            self.result(name, 0, "nothing to copy").times.append(seconds)
        check_copy("Murmeli after its re-runs", self.source, destination, len(self.corpus))

    def run(self) -> None:
        self.daemon = MurmeliImporter(self.work / "daemon", self.destination_server)
        self.daemon.start()
        contenders = self.contenders()
        for turn in range(self.args.rounds):
            print(f"round {turn + 1}/{self.args.rounds}", flush=True)
            for contender in rotated(contenders, turn):
                self.contend(contender, turn)

    def close(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
        self.source_server.stop()
        self.destination_server.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def table(results: Sequence[Result]) -> list[list[str]]:
    rows = [["contender", "seconds", "msg/s", "MB/s", "bytes", "flags", "dates", "note"]]
    for r in results:
        e = r.exactness
        shares = ["-"] * 3
        if e:
            shares = [e.share(e.bytes_equal), e.share(e.flags_equal), e.share(e.dates_equal)]
        rows.append([r.name, *r.cells(), *shares, r.note])
    return rows


def ratios(results: dict[str, Result]) -> list[str]:
    """Each peer's time over Murmeli's (higher = Murmeli faster); a peer stopped at its
    limit gives a lower bound."""
    murmeli = results["Murmeli"]
    lines = []
    for other, target in (("mbsync", 1.5), ("raw FETCH+MULTIAPPEND", 0.75)):
        theirs = results.get(other)
        if theirs is None or not (theirs.times or theirs.timeout):
            lines.append(f"Murmeli / {other}: n/a ({theirs.failed if theirs else 'not run'})")
            continue
        ratio = speed_ratio(theirs.timeout or theirs.seconds, murmeli.seconds)
        assert ratio is not None
        bound = "> " if theirs.timeout else ""
        verdict = "met" if ratio >= target else ("unknown" if bound else "MISSED")
        lines.append(f"Murmeli / {other}: {bound}{ratio:.2f}x (target >= {target}x: {verdict})")
    rerun = results["Murmeli re-run (index kept)"].seconds or 0.0
    verdict = "met" if rerun < 5 else "MISSED"
    lines.append(f"Murmeli re-run: {rerun:.2f} s (target < 5 s: {verdict})")
    return lines


def run(args: argparse.Namespace) -> None:
    bench = Bench(args)
    try:
        bench.prepare()
        bench.run()
    finally:
        bench.close()
    corpus = (
        f"{len(bench.corpus)} messages, {bench.megabytes:.0f} MB, {len(FOLDERS)} folders, "
        f"two local Dovecots (mail_fsync = {FSYNC}); medians of {args.rounds} rounds"
    )
    print_report(corpus, table(list(bench.results.values())), ratios(bench.results))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 messages, 2 rounds")
    parser.add_argument("--messages", type=int, help="corpus size (default 20,000)")
    parser.add_argument("--rounds", type=int, help="copies per contender (default 3, quick 2)")
    parser.add_argument("--sample", type=int, default=2_000, help="messages compared byte-wise")
    parser.add_argument(
        "--offlineimap-timeout", type=float, default=900, help="seconds before giving up"
    )
    args = parser.parse_args()
    args.messages = args.messages or (500 if args.quick else 20_000)
    args.rounds = args.rounds or (2 if args.quick else 3)
    if not available():
        raise SystemExit("needs Dovecot: apt-get install dovecot-imapd")
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
