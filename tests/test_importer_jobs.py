"""Import jobs end to end: `murmeli import` CLI, a real `murmeli importer` daemon, two Dovecots."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from importer.connection import ImapEndpoint
from tests.certificates import TestAuthority
from tests.dovecot_process import DovecotPair, DovecotServer
from tests.gate import Gate
from tests.murmeli_process import MURMELI, MurmeliServer
from tests.smtp_sink import Sink, smtp_sink
from tests.test_importer_copy import ZURICH, corpus, endpoint, expected_destination, fill, snapshot

SOURCE_PASSWORD = "secret-pw"  # what tests.test_importer_copy.endpoint gives every user
# Bytes a gated source sends before it holds: a job of many_messages(3000) has copied
# 200 messages after ~170 kB, and needs ~1.2 MB in all, so it cannot end before the hold.
HOLD_AFTER = 400_000


@pytest.fixture(scope="module")
def dovecots() -> Iterator[DovecotPair]:
    pair = DovecotPair().start()
    yield pair
    pair.stop()


class Importer:
    """A data folder, its configuration, the CLI and the daemon on it."""

    def __init__(
        self,
        root: Path,
        dovecots: DovecotPair | None,
        batch_messages: int = 200,
        extra: str = "",
        destination: DovecotServer | None = None,
        security: str = "none",
    ) -> None:
        """``destination`` defaults to the pair's, reached with ``security``."""
        self.data = root / "data"
        config = root / "murmeli.yaml"
        destination = destination or dovecots.destination
        config.write_text(
            "importer:\n"
            f"  host: {destination.host}\n"
            f"  port: {destination.port}\n"
            f"  security: {security}\n"
            "  poll_interval: 100ms\n"
            "  backoff: 100ms\n"
            "  retries: 3\n"
            f"  batch_messages: {batch_messages}\n" + extra
        )
        self.murmeli = MurmeliServer(self.data, config)
        self.daemon: subprocess.Popen | None = None

    def add(self, source: ImapEndpoint, destination: ImapEndpoint | str, *extra: str) -> str:
        """Queues a job; given only an address, the destination is reached as the master user."""
        if isinstance(destination, ImapEndpoint):
            password_file = self.data.parent / "destination-password"
            password_file.write_text(destination.password + "\n")
            extra = ("--to-password-file", str(password_file), *extra)
            destination = destination.login
        result = self.cli(
            "import", "add", "--from", source.login, "--to", destination,
            "--server", f"{source.host}:{source.port}", "--security", "none", "--allow-plaintext",
            "--password-stdin", *extra, stdin=source.password + "\n",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[-1]

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.murmeli.cli(*args, stdin=stdin)

    def status(self, job: str) -> dict:
        result = self.cli("import", "status", job, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def start(self, **environment: str) -> Importer:
        self.daemon = subprocess.Popen(
            [*MURMELI, "importer"],
            env={**self.murmeli.environment(), **environment},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def stop(self, signum: int = signal.SIGTERM) -> str:
        """Stops the daemon; returns what it logged."""
        assert self.daemon is not None
        self.daemon.send_signal(signum)
        _, log = self.daemon.communicate(timeout=60)
        self.daemon = None
        return log

    def progress(self, job: str) -> tuple[str, int]:
        """The job's state and messages accounted for, read straight from the database."""
        with sqlite3.connect(self.data / "murmeli.sqlite3") as database:
            (state,) = database.execute(
                "SELECT state FROM import_jobs WHERE id = ?", (job,)
            ).fetchone()
            (done,) = database.execute(
                "SELECT COALESCE(SUM(copied + skipped + failed), 0) FROM import_progress "
                "WHERE job = ?",
                (job,),
            ).fetchone()
        return state, done

    def stored_passwords(self, job: str) -> tuple[bytes | None, bytes | None]:
        with sqlite3.connect(self.data / "murmeli.sqlite3") as database:
            return database.execute(
                "SELECT source_password, destination_password FROM import_jobs WHERE id = ?",
                (job,),
            ).fetchone()

    def database_bytes(self) -> bytes:
        return b"".join(path.read_bytes() for path in self.data.glob("murmeli.sqlite3*"))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def gate(dovecots: DovecotPair) -> Iterator[Gate]:
    """The source Dovecot behind a gate, for jobs the test acts on while they run."""
    running = Gate(dovecots.source.host, dovecots.source.port, budget=HOLD_AFTER).start()
    yield running
    running.stop()


def through(gate: Gate, account: ImapEndpoint) -> ImapEndpoint:
    return ImapEndpoint(gate.host, gate.port, account.security, account.login, account.password)


@pytest.fixture
def importer(tmp_path: Path, dovecots: DovecotPair) -> Iterator[Importer]:
    running = Importer(tmp_path, dovecots)
    yield running
    if running.daemon is not None:
        running.stop(signal.SIGKILL)


def many_messages(count: int) -> list[tuple[str, bytes, tuple[str, ...], datetime]]:
    when = datetime(2024, 1, 1, 12, 0, tzinfo=ZURICH)
    return [
        (
            "INBOX",
            (
                f"From: bulk{n}@example.net\r\nSubject: Bulk {n}\r\n"
                f"Message-ID: <bulk{n}@example.net>\r\n\r\nBody {n}\r\n"
            ).encode(),
            (r"\Seen",) if n % 2 else (),
            when,
        )
        for n in range(count)
    ]


def fill_fast(account: ImapEndpoint, messages) -> None:
    """MULTIAPPEND in chunks: thousands of messages in a second or two."""
    client = account.connect()
    for start in range(0, len(messages), 500):
        client.multiappend(
            "INBOX",
            [
                {"msg": body, "flags": flags, "date": when}
                for _, body, flags, when in messages[start : start + 500]
            ],
        )
    client.logout()


def test_a_job_added_with_the_cli_is_copied_by_the_daemon_and_its_password_erased(
    importer: Importer, dovecots: DovecotPair
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = corpus()
    fill(source, messages)
    job = importer.add(source, destination)
    assert len(job) == 32 and int(job, 16) >= 0
    queued = importer.status(job)
    assert queued["state"] == "queued"
    assert all(importer.stored_passwords(job))
    assert SOURCE_PASSWORD.encode() not in importer.database_bytes()

    importer.start()
    wait_for(lambda: importer.progress(job)[0] == "done", "the job to finish")
    importer.stop()

    report = importer.status(job)
    assert (report["copied"], report["skipped"], report["failed"]) == (len(messages), 0, 0)
    assert report["total_messages"] == len(messages)
    per_folder = {f["destination"]: f["copied"] for f in report["folders"] if f["copied"]}
    expected = expected_destination(snapshot(source))
    assert per_folder == {folder: len(content) for folder, content in expected.items() if content}
    assert snapshot(destination) == expected
    assert importer.stored_passwords(job) == (None, None)
    assert SOURCE_PASSWORD.encode() not in importer.database_bytes()
    text = importer.cli("import", "status", job)
    assert "done" in text.stdout and "Work/Projects" in text.stdout


def test_a_daemon_killed_mid_job_resumes_with_exactly_one_copy_of_each_message(
    tmp_path: Path, dovecots: DovecotPair, gate: Gate
) -> None:
    importer = Importer(tmp_path, dovecots, batch_messages=10)
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = many_messages(3000)
    fill_fast(source, messages)
    job = importer.add(through(gate, source), destination, "--prefix", "Imported")
    importer.start()
    wait_for(lambda: importer.progress(job)[1] >= 200, "some batches to be committed")
    gate.close()
    importer.stop(signal.SIGKILL)
    state, done = importer.progress(job)
    assert state == "running" and 0 < done < len(messages)

    gate.open()
    importer.start()
    try:
        wait_for(lambda: importer.progress(job)[0] == "done", "the resumed job to finish")
    finally:
        importer.stop()

    copied = snapshot(destination)["Imported/INBOX"]
    assert sorted(body for body, *_ in copied) == sorted(body for _, body, *_ in messages)
    report = importer.status(job)
    assert report["copied"] + report["skipped"] == len(messages)


def test_the_daemon_logs_in_to_the_destination_as_the_configured_master_user(
    tmp_path: Path, dovecots: DovecotPair
) -> None:
    destination_server = DovecotServer(masters={"importer": "master-secret"}).start()
    try:
        master_file = tmp_path / "master-password"
        master_file.write_text("master-secret\n")
        importer = Importer(
            tmp_path,
            dovecots,
            extra=f"  master_user: importer\n  master_password_file: {master_file}\n",
            destination=destination_server,
        )
        source, destination = endpoint(dovecots.source), endpoint(destination_server)
        messages = corpus()[:12]
        fill(source, messages)

        job = importer.add(source, destination.login)
        assert importer.stored_passwords(job)[1] is None  # no destination password to use
        importer.start()
        wait_for(lambda: importer.progress(job)[0] in ("done", "failed"), "the job to end")
        importer.stop()

        assert importer.status(job)["state"] == "done"
        assert snapshot(destination) == expected_destination(snapshot(source))
        assert importer.stored_passwords(job) == (None, None)
    finally:
        destination_server.stop()


def test_connections_dropped_mid_job_are_retried_and_end_with_exactly_one_copy(
    tmp_path: Path, dovecots: DovecotPair, gate: Gate
) -> None:
    importer = Importer(tmp_path, dovecots, batch_messages=10)
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = many_messages(3000)
    fill_fast(source, messages)
    job = importer.add(through(gate, source), destination)
    importer.start()
    wait_for(lambda: importer.progress(job)[1] >= 100, "some batches to be committed")
    gate.close()
    assert importer.progress(job)[0] == "running"
    assert dovecots.source.kick(source.login), "the job was not reading any more"
    gate.open()
    wait_for(lambda: importer.progress(job)[0] in ("done", "failed"), "the job to end")
    log = importer.stop()

    report = importer.status(job)
    assert report["state"] == "done", report
    assert "retry 1" in log
    copied = snapshot(destination)["INBOX"]
    assert sorted(body for body, *_ in copied) == sorted(body for _, body, *_ in messages)


def test_a_wrong_source_password_fails_the_job_at_once_with_the_reason(
    importer: Importer, dovecots: DovecotPair
) -> None:
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    wrong = ImapEndpoint(source.host, source.port, "none", source.login, "not-the-password")
    job = importer.add(wrong, destination)
    importer.start()
    wait_for(lambda: importer.progress(job)[0] == "failed", "the job to fail")
    log = importer.stop()

    report = importer.status(job)
    assert "authentication failed" in report["error"]
    assert f"source {source.host}:{source.port}" in report["error"]
    assert "retry" not in log
    assert importer.stored_passwords(job) == (None, None)
    text = importer.cli("import", "status", job).stdout
    assert "reason: authentication failed" in text


def test_cancel_ends_a_queued_job_now_and_a_running_one_between_batches(
    tmp_path: Path, dovecots: DovecotPair, gate: Gate
) -> None:
    importer = Importer(tmp_path, dovecots, batch_messages=5)
    source, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
    messages = many_messages(3000)
    fill_fast(source, messages)
    queued = importer.add(source, destination, "--prefix", "Queued")
    result = importer.cli("import", "cancel", queued)
    assert result.returncode == 0 and "cancelled" in result.stdout
    assert importer.status(queued)["state"] == "cancelled"
    assert importer.stored_passwords(queued) == (None, None)

    job = importer.add(through(gate, source), destination)
    importer.start()
    try:
        wait_for(lambda: importer.progress(job)[1] >= 50, "some batches to be committed")
        gate.close()
        assert importer.progress(job)[0] == "running"
        result = importer.cli("import", "cancel", job)
        assert result.returncode == 0, result.stderr
        # Enough to end the batches in hand, far from enough to end the job.
        gate.allow(HOLD_AFTER // 2)
        wait_for(lambda: importer.progress(job)[0] == "cancelled", "the job to stop")
    finally:
        importer.stop()

    report = importer.status(job)
    assert 0 < report["copied"] < len(messages)
    assert len(snapshot(destination)["INBOX"]) == report["copied"]
    assert "Queued" not in {folder for folder in snapshot(destination)}
    again = importer.cli("import", "cancel", job)
    assert again.returncode == 2 and "already ended" in again.stderr


def test_bad_requests_are_refused_with_the_reason_and_nothing_is_queued(
    importer: Importer, dovecots: DovecotPair
) -> None:
    password_file = importer.data.parent / "pw"
    password_file.write_text("destination-pw\n")
    base = ["import", "add", "--to", "bob@example.org", "--password-stdin"]
    unknown = importer.cli(*base, "--from", "bob@example.com", "--to-password-file",
                           str(password_file), stdin="pw\n")  # fmt: skip
    assert unknown.returncode == 2 and "--server" in unknown.stderr
    plaintext = importer.cli(
        *base, "--from", "bob@example.com", "--server", "imap.example.com", "--security", "none",
        "--to-password-file", str(password_file), stdin="pw\n",
    )  # fmt: skip
    assert plaintext.returncode == 2 and "--allow-plaintext" in plaintext.stderr
    no_destination_login = importer.cli(*base, "--from", "bob@gmail.com", stdin="pw\n")
    assert no_destination_login.returncode == 2
    assert "--to-password-file" in no_destination_login.stderr
    missing = importer.cli("import", "status", "0" * 32)
    assert missing.returncode == 2 and "no import job" in missing.stderr

    listing = importer.cli("import", "status", "--json")
    assert listing.returncode == 0 and json.loads(listing.stdout) == []


def test_a_second_daemon_on_the_same_data_folder_refuses_to_start(
    importer: Importer, dovecots: DovecotPair
) -> None:
    importer.start()
    lock = importer.data / "importer.lock"
    wait_for(lambda: lock.exists() and lock.read_text().strip(), "the first daemon's lock")
    second = importer.cli("importer")
    assert second.returncode == 1 and "another importer runs" in second.stderr


SMTP_LOGIN = ("importer-mail", "smtp-secret-pw")


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[Sink, str, int]]:
    (tmp_path / "smtp").mkdir()
    with smtp_sink(tmp_path / "smtp", SMTP_LOGIN) as running:
        yield running


def smtp_config(folder: Path, sink: tuple[Sink, str, int]) -> str:
    _, certificate, port = sink
    password_file = folder / "smtp-password"
    password_file.write_text(SMTP_LOGIN[1] + "\n")
    return (
        "smtp:\n  host: 127.0.0.1\n"
        f"  port: {port}\n  security: starttls\n  username: {SMTP_LOGIN[0]}\n"
        f"  password_file: {password_file}\n  from_address: imports@example.org\n"
        f"  ca_file: {certificate}\n"
    )


def test_a_csv_batch_is_queued_whole_copied_and_confirmed_by_email(
    tmp_path: Path, dovecots: DovecotPair, sink: tuple[Sink, str, int]
) -> None:
    importer = Importer(tmp_path, dovecots, extra=smtp_config(tmp_path, sink))
    pairs = [(endpoint(dovecots.source), endpoint(dovecots.destination)) for _ in range(2)]
    for number, (source, _) in enumerate(pairs):
        fill(source, corpus()[: 5 + number])
    header = "source_address,source_password,server,port,security,destination_address,"
    header += "destination_password\n"
    lines = [
        f"{s.login},{s.password},{s.host},{s.port},none,{d.login},{d.password}\n" for s, d in pairs
    ]
    too_many = tmp_path / "too-many.csv"
    too_many.write_text(header + "".join(lines * 13))
    refused = importer.cli("import", "batch", str(too_many), "--allow-plaintext")
    assert refused.returncode == 2 and "26 accounts: at most 25" in refused.stderr
    assert json.loads(importer.cli("import", "status", "--json").stdout) == []

    batch = tmp_path / "batch.csv"
    batch.write_text(header + "".join(lines))
    queued = importer.cli("import", "batch", str(batch), "--allow-plaintext")
    assert queued.returncode == 0, queued.stderr
    jobs = [line.split()[0] for line in queued.stdout.splitlines()[1:]]
    assert len(jobs) == 2
    importer.start()
    wait_for(lambda: all(importer.progress(job)[0] == "done" for job in jobs), "both jobs")
    wait_for(lambda: len(sink[0].messages) == 2, "the confirmation emails")
    importer.stop()

    for number, (source, destination) in enumerate(pairs):
        assert len(snapshot(destination)["INBOX"]) == 5 + number
        (mail,) = [m for m in sink[0].messages if source.login in m["To"]]
        assert destination.login in mail["To"] and "complete" in mail["Subject"]
        text = mail.get_content()
        assert f"{5 + number} copied, 0 skipped" in text
        assert "INBOX" in text


@pytest.fixture(scope="module")
def tls_dovecots(tmp_path_factory) -> Iterator[tuple[DovecotServer, DovecotServer, Path]]:
    """Two Dovecots offering STARTTLS and implicit TLS with certificates from a test CA, and
    the CA's certificate (the only one that makes them trusted)."""
    authority = TestAuthority(tmp_path_factory.mktemp("ca"))
    certificate = authority.issue("imap", "IP:127.0.0.1", "DNS:localhost")
    source = DovecotServer(certificate=certificate).start()
    destination = DovecotServer(certificate=certificate).start()
    yield source, destination, authority.certificate
    source.stop()
    destination.stop()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_an_import_over_tls_verifies_both_servers_certificates(
    tmp_path: Path, tls_dovecots, security: str
) -> None:
    """The destination is trusted through ``importer.ca_file``; a source (a provider, whose
    certificate chains to the system's CAs) through the system store, here ``SSL_CERT_FILE``."""
    source_server, destination_server, ca = tls_dovecots
    plain_source, destination = endpoint(source_server), endpoint(destination_server)
    port = source_server.tls_port if security == "tls" else source_server.port
    source = ImapEndpoint(
        source_server.host, port, security, plain_source.login, plain_source.password, ca
    )
    messages = corpus()
    fill(source, messages)
    importer = Importer(
        tmp_path, None, destination=destination_server, security="starttls",
        extra=f"  ca_file: {ca}\n",
    )  # fmt: skip
    job = importer.add(source, destination, "--security", security)
    importer.start(SSL_CERT_FILE=str(ca))
    try:
        wait_for(lambda: importer.progress(job)[0] in ("done", "failed"), "the job to end")
    finally:
        log = importer.stop()
    assert importer.status(job)["state"] == "done", log
    verified = ImapEndpoint(
        destination_server.host, destination_server.port, "starttls",
        destination.login, destination.password, ca,
    )  # fmt: skip
    assert snapshot(verified) == expected_destination(snapshot(source))


def test_an_untrusted_certificate_fails_the_job_at_once_with_the_reason(
    tmp_path: Path, tls_dovecots
) -> None:
    source_server, destination_server, ca = tls_dovecots
    plain = endpoint(source_server)
    source = ImapEndpoint(source_server.host, source_server.tls_port, "tls", plain.login,
                          plain.password, ca)  # fmt: skip
    fill(source, corpus()[:3])
    importer = Importer(
        tmp_path, None, destination=destination_server, security="starttls",
        extra=f"  ca_file: {ca}\n",
    )  # fmt: skip
    job = importer.add(source, endpoint(destination_server), "--security", "tls")
    importer.start()  # the system's CAs do not know the test CA
    try:
        wait_for(lambda: importer.progress(job)[0] in ("done", "failed"), "the job to end")
    finally:
        log = importer.stop()
    report = importer.status(job)
    assert report["state"] == "failed"
    assert "certificate" in report["error"] and f"source {source.host}" in report["error"]
    assert "retry" not in log


def test_murmeli_serve_runs_the_importer_within_max_jobs_and_max_per_host(
    tmp_path: Path, dovecots: DovecotPair
) -> None:
    """Four jobs, in this order: two from one source server, one from a second, one from a
    third. With max_jobs 2 and max_per_host 1, the first and third run (held by the gates
    in front of the sources) while the second waits for its host and the fourth for a slot."""
    source = dovecots.source
    gates = [Gate(source.host, source.port, budget=0, listen=host).start()
             for host in ("127.0.0.1", "127.0.0.2", "127.0.0.3")]  # fmt: skip
    importer = Importer(
        tmp_path, dovecots, extra="  enabled: true\n  max_jobs: 2\n  max_per_host: 1\n"
    )
    jobs, copies = [], []
    for gate in (gates[0], gates[0], gates[1], gates[2]):
        account, destination = endpoint(dovecots.source), endpoint(dovecots.destination)
        fill(account, corpus()[:2])
        through_gate = ImapEndpoint(
            gate.host, gate.port, "none", account.login, account.password
        )
        jobs.append(importer.add(through_gate, destination))
        copies.append((account, destination))
    importer.murmeli.start()
    try:
        wait_for(lambda: gates[0].passed and gates[1].passed, "two jobs to connect")
        states = [importer.progress(job)[0] for job in jobs]
        assert states == ["running", "queued", "running", "queued"]
        for gate in gates:
            gate.open()
        for job in jobs:
            wait_for(lambda job=job: importer.progress(job)[0] == "done", f"job {job} to finish")
    finally:
        for gate in gates:
            gate.open()
        importer.murmeli.stop()
        for gate in gates:
            gate.stop()
    for account, destination in copies:
        assert snapshot(destination) == expected_destination(snapshot(account))
    importer.murmeli.assert_log_clean()
