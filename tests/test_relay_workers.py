"""``murmeli relay`` with ``relay.workers: 2`` as real processes: both workers serve connections
on the same ports, every copy opens in GnuPG, and no worker outlives the relay.

Which worker takes a connection is the kernel's hash of its addresses, so the
test sends rounds of parallel connections until both workers' pids have
logged a relayed message (the chance one round of 8 misses a worker is 1/128;
six rounds, below 1e-14)."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config import loader
from config.loader import ConfigError
from crypto.wrapping import new_kek
from tests.murmeli_process import MURMELI, MurmeliServer
from tests.smtp_sink import smtp_sink
from tests.test_relay import (
    SINK_LOGIN,
    RelayUnderTest,
    assert_opens_to,
    plain_message,
    relay_config,
    wait_for,
    wire,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)
WORKERS = 2
RUNNING = f"relay running in {WORKERS} processes"
_RELAYED = re.compile(r"murmeli\.relay\[(\d+)\]: relayed mail from")
_STOPPED = re.compile(r"murmeli\.relay\[(\d+)\]: relay stopped")


class RelayProcess:
    """``murmeli relay`` started by the test, its stderr (its workers' too) kept line by line."""

    def __init__(self, server: MurmeliServer) -> None:
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [*MURMELI, "relay"], stderr=subprocess.PIPE, text=True, env=server.environment()
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def started(self) -> RelayProcess:
        wait_for(self.log, RUNNING)
        return self

    def workers(self) -> set[int]:
        return children(self.process.pid)

    def pids_logged(self, pattern: re.Pattern) -> set[int]:
        return {int(match[1]) for line in self.log if (match := pattern.search(line))}

    def relayed(self, since: int) -> list[int]:
        """The pid of the worker that relayed each message logged since line ``since``."""
        return [int(match[1]) for line in self.log[since:] if (match := _RELAYED.search(line))]

    def await_relayed(self, since: int, count: int) -> None:
        """The log arrives through a pipe: wait until it shows ``count`` messages relayed."""
        eventually(lambda: len(self.relayed(since)) >= count, f"{count} relayed lines")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=90)


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie (exited, not yet reaped by init) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def refused(port: int) -> bool:
    """Whether nothing listens on ``port`` any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def eventually(condition, what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def with_workers(config: Path, count: int = WORKERS) -> Path:
    """``relay_config``'s file with ``relay.workers`` (its relay section comes last)."""
    config.write_text(config.read_text() + f"  workers: {count}\n")
    return config


@pytest.fixture(scope="module")
def relay(tmp_path_factory) -> Iterator[RelayUnderTest]:
    folder = tmp_path_factory.mktemp("relay-workers")
    (folder / "sink").mkdir()
    with smtp_sink(folder / "sink", SINK_LOGIN) as (sink, sink_certificate, sink_port):
        config = with_workers(relay_config(folder, sink_port, sink_certificate))
        settings = loader.load(config).relay
        under_test = RelayUnderTest(
            MurmeliServer(folder / "data", config=config), config,
            settings.submission.listen.port, settings.content_filter.listen.port,
            str(settings.submission.certificate), sink, {},
        )  # fmt: skip
        for short in ("ann", "bob"):
            under_test.add_user(short)
        yield under_test
        for home in under_test.homes.values():
            subprocess.run(["gpgconf", "--homedir", str(home.home), "--kill", "all"], check=False)
            shutil.rmtree(home.home, ignore_errors=True)


@pytest.fixture
def relay_process(relay) -> Iterator[RelayProcess]:
    process = RelayProcess(relay.server).started()
    yield process
    process.stop()


def send_round(relay: RelayUnderTest, connections: int) -> list:
    """One message on each of ``connections`` parallel connections; the messages sent."""
    sent = [
        plain_message("x@elsewhere.test", relay.address("bob"), f"Parallel {i} {time.time_ns()}")
        for i in range(connections)
    ]
    with ThreadPoolExecutor(connections) as pool:
        for message in sent:
            pool.submit(
                relay.content_filter_send, "x@elsewhere.test", [relay.address("bob")], wire(message)
            )
    return sent


def test_parallel_connections_are_served_by_both_workers_and_every_copy_opens(relay, relay_process):
    workers = relay_process.workers()
    assert len(workers) == WORKERS
    before, since = len(relay.sink.messages), len(relay_process.log)
    sent: list = []
    for _ in range(6):
        sent += send_round(relay, 8)
        relay_process.await_relayed(since, len(sent))
        if set(relay_process.relayed(since)) == workers:
            break
    assert set(relay_process.relayed(since)) == workers
    received = {message["Subject"]: message for message in relay.received_since(before)}
    assert len(received) == len(sent)
    for original in sent:
        assert_opens_to(relay.gnupg("bob"), received[original["Subject"]], original)


def test_submission_works_on_every_worker(relay, relay_process):
    """STARTTLS, AUTH and the sender's key in each worker (each remembers logins of its own)."""
    workers, since = relay_process.workers(), len(relay_process.log)
    for attempt in range(1, 49):
        before = len(relay.sink.messages)
        original = plain_message(relay.address("ann"), relay.address("bob"), f"Submitted {attempt}")
        relay.submit("ann", [relay.address("bob")], wire(original))
        (received,) = relay.received_since(before)
        assert_opens_to(relay.gnupg("ann"), received, original)
        relay_process.await_relayed(since, attempt)
        if set(relay_process.relayed(since)) == workers:
            break
    assert set(relay_process.relayed(since)) == workers


def test_a_worker_that_dies_is_replaced(relay, relay_process):
    first = relay_process.workers()
    killed = min(first)
    subprocess.run(["kill", "-KILL", str(killed)], check=True)
    eventually(
        lambda: len(relay_process.workers()) == WORKERS and killed not in relay_process.workers(),
        "a new worker in place of the killed one",
    )
    wait_for(relay_process.log, f"relay worker {killed} was killed by SIGKILL")
    replacement = (relay_process.workers() - first).pop()
    wait_for(relay_process.log, f"murmeli.relay[{replacement}]: relay content filter listening")
    before = len(relay.sink.messages)
    send_round(relay, 4)
    assert len(relay.received_since(before)) == 4


def test_sigterm_stops_every_worker_after_its_messages(relay):
    """SIGTERM while four messages wait at the next hop: each is delivered once, and each
    sender has its 250, before the relay exits."""
    process = RelayProcess(relay.server).started()
    workers = process.workers()
    before = len(relay.sink.messages)
    sent = [
        plain_message("x@elsewhere.test", relay.address("bob"), f"In flight {i} {time.time_ns()}")
        for i in range(4)
    ]
    relay.sink.hold()
    try:
        with ThreadPoolExecutor(len(sent)) as pool:
            sending = [
                pool.submit(relay.content_filter_send, "x@elsewhere.test",
                            [relay.address("bob")], wire(message))
                for message in sent
            ]  # fmt: skip
            eventually(lambda: relay.sink.held == len(sent), "every message at the next hop")
            process.process.send_signal(signal.SIGTERM)
            eventually(lambda: refused(relay.content_filter), "the relay to stop listening")
            relay.sink.release()
            for future in sending:
                future.result()  # the relay's 250, or what went wrong
    finally:
        relay.sink.release()
    assert process.process.wait(timeout=90) == 0
    subjects = [message["Subject"] for message in relay.received_since(before)]
    assert sorted(subjects) == sorted(message["Subject"] for message in sent)
    assert not any(running(pid) for pid in workers)
    eventually(lambda: process.pids_logged(_STOPPED) == workers, "each worker logged its stop")
    assert not [line for line in process.log if "while stopping" in line or "Fatal" in line]


def test_workers_stop_when_the_parent_is_killed(relay):
    process = RelayProcess(relay.server).started()
    workers = process.workers()
    process.process.kill()
    process.process.wait(timeout=30)
    eventually(lambda: not any(running(pid) for pid in workers), "the workers stopped")
    eventually(lambda: process.pids_logged(_STOPPED) == workers, "each worker stopped gracefully")


def test_a_port_in_use_stops_start_up_before_any_worker(relay):
    with socket.create_server(("127.0.0.1", relay.content_filter)):
        done = relay.server.cli("relay")
    assert done.returncode == 2
    assert f"relay content filter: cannot listen on 127.0.0.1:{relay.content_filter}" in done.stderr
    assert "relay worker" not in done.stderr


def test_a_wrong_kek_stops_start_up_before_any_worker(relay, tmp_path):
    # A key wrapped under the right KEK must be stored, whichever test ran before.
    made = MurmeliServer(relay.server.data, config=relay.config).cli(
        "keys", "export", relay.address("ann")
    )
    assert made.returncode == 0, made.stderr
    config = tmp_path / "murmeli.yaml"
    config.write_text(
        relay.config.read_text().replace(str(relay.config.parent / "kek"), str(tmp_path / "kek"))
    )
    (tmp_path / "kek").write_text(new_kek())
    server = MurmeliServer(relay.server.data, config=config)
    done = server.cli("relay")
    assert done.returncode == 2
    assert "key-encryption key" in done.stderr and "relay worker" not in done.stderr


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_workers_must_be_a_number_from_1_to_64(tmp_path, value):
    config = tmp_path / "murmeli.yaml"
    config.write_text(f"relay:\n  workers: {value}\n")
    with pytest.raises(ConfigError, match=r"relay\.workers"):
        loader.load(config)
