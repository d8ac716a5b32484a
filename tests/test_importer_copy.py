"""Copying whole accounts between two real Dovecots: exact, read-only, no doubles, resumable."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError

from davserver.database import Database
from importer.connection import ImapEndpoint
from importer.copy import BatchLimits, Interrupted, copy_account
from importer.progress import job_progress
from tests.dovecot_process import GMAIL_SPECIAL_USE, DovecotPair, DovecotServer

ZURICH = timezone(timedelta(hours=1))
NEW_YORK = timezone(timedelta(hours=-5))


@pytest.fixture(scope="module")
def dovecots() -> Iterator[DovecotPair]:
    pair = DovecotPair().start()
    yield pair
    pair.stop()


def endpoint(server: DovecotServer) -> ImapEndpoint:
    login = server.add_user(f"u{secrets.token_hex(4)}@example.org", "secret-pw")
    return ImapEndpoint(server.host, server.port, "none", login, "secret-pw")


def message(number: int, *, message_id: bool = True, body: str = "", extra: str = "") -> bytes:
    headers = [
        f"From: Sender {number} <sender{number}@example.net>",
        "To: alice@example.org",
        f"Subject: Message {number}",
        f"Date: Mon, {1 + number % 28} Jan 2024 10:00:00 +0100",
    ]
    if message_id:
        headers.append(f"Message-ID: <m{number}@example.net>")
    text = "\r\n".join(headers) + "\r\n" + extra + "\r\n" + (body or f"Body {number}\r\n")
    return text.encode()


def multipart(number: int, attachment: bytes) -> bytes:
    encoded = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    body = (
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Grüße aus Zürich, ça va ?\r\n"
        "--b1\r\nContent-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=data.bin\r\n\r\n"
        f"{encoded}--b1--\r\n"
    )
    return message(
        number, body=body, extra='MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"'
    )


# (folder, message bytes, flags, INTERNALDATE)
def corpus() -> list[tuple[str, bytes, tuple[str, ...], datetime]]:
    base = datetime(2023, 5, 1, 8, 30, tzinfo=ZURICH)
    messages = []
    for n in range(40):
        flags = [(), (r"\Seen",), (r"\Seen", r"\Answered"), (r"\Flagged", "$Forwarded", "Work")][
            n % 4
        ]
        messages.append(("INBOX", message(n), flags, base + timedelta(hours=n)))
    messages += [
        ("INBOX", multipart(100, secrets.token_bytes(1_500_000)), (r"\Seen",), base),
        ("INBOX", multipart(101, b"small"), (), datetime(2020, 2, 29, 23, 59, 1, tzinfo=NEW_YORK)),
        ("INBOX", message(102, message_id=False, body="first\r\n"), (r"\Seen",), base),
        ("INBOX", message(102, message_id=False, body="other\r\n"), (), base),
        ("Sent", message(200, body="Envoyé à Zoë\r\n"), (r"\Seen",), base),
        ("Drafts", message(201), (r"\Draft",), base),
        ("Archiv", message(202), (r"\Seen",), base),
        ("Work", message(203), ("Project-X",), base),
        ("Work/Projects", message(204), (r"\Answered", r"\Flagged"), base),
    ]
    return messages


def fill(account: ImapEndpoint, messages) -> None:
    client = account.connect()
    for folder in sorted({folder for folder, *_ in messages}):
        if not client.folder_exists(folder):
            client.create_folder(folder)
    for folder, body, flags, when in messages:
        client.append(folder, body, flags, when)
    client.logout()


def snapshot(account: ImapEndpoint) -> dict[str, list[tuple[bytes, frozenset, datetime]]]:
    """Every folder's messages (bytes, flags without \\Recent, INTERNALDATE), read with EXAMINE."""
    client = account.connect()
    content = {}
    for _, _, folder in client.list_folders():
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search(), [b"BODY.PEEK[]", b"FLAGS", b"INTERNALDATE"])
        content[folder] = sorted(
            (
                data[b"BODY[]"],
                frozenset(f for f in data[b"FLAGS"] if f != rb"\Recent"),
                data[b"INTERNALDATE"],
            )
            for data in fetched.values()
        )
    client.logout()
    return content


@pytest.fixture
def database(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'murmeli.sqlite3'}")


def expected_destination(source: dict) -> dict:
    """The source content under the destination's names (Archiv has no SPECIAL-USE twin there)."""
    renamed = {"Archiv": "Archive"}
    return {renamed.get(folder, folder): content for folder, content in source.items()}


def totals(progress) -> tuple[int, int, int]:
    return (
        sum(p.copied for p in progress),
        sum(p.skipped for p in progress),
        sum(p.failed for p in progress),
    )


@pytest.mark.parametrize("at_once", [1, 3])
def test_copy_is_exact_leaves_the_source_alone_and_a_second_run_copies_nothing(
    dovecots: DovecotPair, database: Database, at_once: int
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    before = snapshot(source)
    limits = BatchLimits(messages=7, bytes=1_000_000)

    progress = copy_account(
        source, destination, database, "job-1", limits=limits, folders_at_once=at_once
    )

    assert totals(progress) == (len(messages), 0, 0)
    plan_order = ["INBOX", "Archiv", "Drafts", "Junk", "Sent", "Trash", "Work", "Work/Projects"]
    assert [p.folder for p in progress] == plan_order
    assert sum(p.bytes for p in progress) == sum(len(body) for _, body, *_ in messages)
    assert snapshot(source) == before
    assert snapshot(destination) == expected_destination(before)
    assert {p.folder: p.destination for p in progress}["Archiv"] == "Archive"

    again = copy_account(
        source, destination, database, "job-2", limits=limits, folders_at_once=at_once
    )
    assert totals(again) == (0, len(messages), 0)
    assert snapshot(destination) == expected_destination(before)
    assert snapshot(source) == before


def test_a_message_already_in_the_destination_is_not_copied_again(
    dovecots: DovecotPair, database: Database
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()[:10]
    fill(source, messages)
    fill(destination, [messages[3]])

    progress = copy_account(source, destination, database, "job-1")

    assert totals(progress) == (9, 1, 0)
    assert snapshot(destination)["INBOX"] == snapshot(source)["INBOX"]


def test_the_index_is_rebuilt_from_the_destination_when_lost(
    dovecots: DovecotPair, tmp_path: Path
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    first = Database(f"sqlite:///{tmp_path / 'first.sqlite3'}")
    copy_account(source, destination, first, "job-1")

    lost = Database(f"sqlite:///{tmp_path / 'lost.sqlite3'}")
    progress = copy_account(source, destination, lost, "job-1")

    assert totals(progress) == (0, len(messages), 0)
    assert snapshot(destination) == expected_destination(snapshot(source))


def test_a_connection_dropped_after_an_append_resumes_with_exactly_one_copy(
    dovecots: DovecotPair, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worst moment: the server stored a batch, the run dies before recording it."""
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    real_multiappend = IMAPClient.multiappend
    calls = []

    def multiappend_then_drop(client, folder, batch):
        result = real_multiappend(client, folder, batch)
        calls.append(len(batch))
        if len(calls) == 3:
            raise IMAPClientAbortError("connection dropped")
        return result

    monkeypatch.setattr(IMAPClient, "multiappend", multiappend_then_drop)
    limits = BatchLimits(messages=5, bytes=10_000_000)
    with pytest.raises(IMAPClientAbortError):
        copy_account(source, destination, database, "job-1", limits=limits)
    monkeypatch.undo()
    assert 0 < len(snapshot(destination)["INBOX"]) < len(messages)

    progress = copy_account(source, destination, database, "job-1", limits=limits)

    # The batch stored but not recorded is found in the destination, not copied again.
    assert totals(progress) == (len(messages) - calls[2], calls[2], 0)
    assert snapshot(destination) == expected_destination(snapshot(source))


def reader_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.endswith("-read")]


def test_a_stop_while_the_reader_is_ahead_ends_it_and_the_copy_resumes_exactly(
    dovecots: DovecotPair, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's stop takes effect at the next commit; batches read ahead are dropped."""
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    stop = threading.Event()
    real_multiappend = IMAPClient.multiappend

    def multiappend_then_stop(client, folder, batch):
        stop.set()
        return real_multiappend(client, folder, batch)

    monkeypatch.setattr(IMAPClient, "multiappend", multiappend_then_stop)
    limits = BatchLimits(messages=5, bytes=10_000_000)
    with pytest.raises(Interrupted):
        copy_account(source, destination, database, "job-1", limits=limits, stop=stop)
    monkeypatch.undo()
    assert reader_threads() == []
    copied = sum(len(content) for content in snapshot(destination).values())
    assert copied == sum(p.copied for p in job_progress(database, "job-1")) == 5

    progress = copy_account(source, destination, database, "job-1", limits=limits)

    assert totals(progress) == (len(messages), 0, 0)
    assert snapshot(destination) == expected_destination(snapshot(source))
    assert reader_threads() == []


def test_a_source_failure_in_the_reader_is_raised_by_the_copy_after_the_batches_before_it(
    dovecots: DovecotPair, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    real_fetch = IMAPClient.fetch
    body_fetches = []

    def fetch_then_drop(client, uids, items, *args, **kwargs):
        if items == [b"BODY.PEEK[]"]:
            body_fetches.append(len(uids))
            if len(body_fetches) == 3:
                raise IMAPClientAbortError("source connection dropped")
        return real_fetch(client, uids, items, *args, **kwargs)

    monkeypatch.setattr(IMAPClient, "fetch", fetch_then_drop)
    limits = BatchLimits(messages=5, bytes=10_000_000)
    with pytest.raises(IMAPClientAbortError, match="source connection dropped"):
        copy_account(source, destination, database, "job-1", limits=limits)
    monkeypatch.undo()
    assert reader_threads() == []
    copied = sum(len(content) for content in snapshot(destination).values())
    assert copied == sum(p.copied for p in job_progress(database, "job-1")) == sum(body_fetches[:2])

    progress = copy_account(source, destination, database, "job-1", limits=limits)

    assert totals(progress) == (len(messages), 0, 0)
    assert snapshot(destination) == expected_destination(snapshot(source))


@pytest.fixture(scope="module")
def gmail() -> Iterator[DovecotServer]:
    server = DovecotServer(GMAIL_SPECIAL_USE).start()
    yield server
    server.stop()


@pytest.mark.parametrize("at_once", [1, 3])
def test_gmail_labels_become_folders_and_only_unlabelled_mail_lands_in_archive(
    dovecots: DovecotPair, gmail: DovecotServer, database: Database, at_once: int
) -> None:
    source, destination = endpoint(gmail), endpoint(dovecots.destination)
    when = datetime(2024, 3, 1, 9, 0, tzinfo=ZURICH)
    labelled, unlabelled, sent, starred = message(1), message(2), message(3), message(4)
    fill(
        source,
        [
            ("INBOX", labelled, (), when),
            ("Clients/ACME", labelled, (), when),
            ("INBOX", starred, (r"\Flagged",), when),
            ("[Gmail]/Starred", starred, (r"\Flagged",), when),
            ("[Gmail]/Sent Mail", sent, (r"\Seen",), when),
            *(("[Gmail]/All Mail", body, (), when) for body in (labelled, unlabelled, sent)),
            ("[Gmail]/All Mail", starred, (r"\Flagged",), when),
        ],
    )

    progress = copy_account(source, destination, database, "gmail-1", folders_at_once=at_once)

    assert progress[-1].folder == "[Gmail]/All Mail"
    assert (progress[-1].copied, progress[-1].skipped) == (1, 3)
    copied = {
        folder: [body for body, *_ in content]
        for folder, content in snapshot(destination).items()
        if content
    }
    assert copied == {
        "INBOX": sorted([labelled, starred]),
        "Clients/ACME": [labelled],
        "Sent": [sent],
        "Archive": [unlabelled],
    }


def test_a_failure_in_one_of_several_folder_workers_stops_them_all_and_the_copy_resumes_exactly(
    dovecots: DovecotPair, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    real_multiappend = IMAPClient.multiappend

    def refuse_work(client, folder, batch):
        if folder == "Work":
            raise IMAPClientAbortError("destination connection dropped")
        return real_multiappend(client, folder, batch)

    monkeypatch.setattr(IMAPClient, "multiappend", refuse_work)
    monkeypatch.setattr(IMAPClient, "append", lambda *_: refuse_work(None, "Work", []))
    limits = BatchLimits(messages=5, bytes=10_000_000)
    with pytest.raises(IMAPClientAbortError, match="destination connection dropped"):
        copy_account(source, destination, database, "job-1", limits=limits, folders_at_once=3)
    monkeypatch.undo()
    assert reader_threads() == [] and worker_threads() == []
    assert snapshot(destination)["Work"] == []

    progress = copy_account(
        source, destination, database, "job-1", limits=limits, folders_at_once=3
    )

    assert totals(progress)[2] == 0
    assert snapshot(destination) == expected_destination(snapshot(source))


def worker_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("import-")]
