"""The OpenPGP relay over SMTP: ``murmeli relay`` against a gpg-subprocess-per-message relay.

Run ``.venv/bin/python bench/relay.py`` (``--quick`` for 300 messages instead of
2,000, in 3 rounds instead of 5; ``--clients N``, default 4). The script

1. generates the messages once, deterministically (fixed seed): ~50 KB each, a
   text part and a binary attachment (base64), From an outside sender, To two
   local users;
2. starts an SMTP sink as next hop (aiosmtpd, its own process, no TLS, on
   loopback) that counts what it receives and how much of it is PGP/MIME, and
   keeps a sample of the copies (two a round and contender);
3. starts a real ``murmeli relay`` (its own data folder, two users whose keys
   are made before the run) with both listeners, next hop the sink, in
   ``relay.workers`` processes: the default (one per CPU, at most 8) unless
   ``--workers N``; the report names the count;
4. starts the peer, the way GnuPG-based relays (gpg-mailgate, GPG-Lacre) work:
   a minimal aiosmtpd relay, its own process, that pipes each message's MIME
   body through ``gpg --batch --encrypt --armor -r A -r B`` (the two users'
   public keys exported from Murmeli and imported into a temporary
   GNUPGHOME), wraps the output as PGP/MIME and forwards it on a new SMTP
   connection to the same kind of sink. Its gpg subprocesses run without
   blocking its event loop, so several run at once: kinder to the peer than
   relays that wait for each;
5. sends the messages through each contender with ``--clients`` SMTP clients
   at once, one connection each with TCP_NODELAY, as an MTA would (without it
   the last TLS record of each message waits ~40 ms for a delayed ACK, which
   would make submission look four times slower than the relay is):

   * **Murmeli, content filter**: the listener a mail server uses (no TLS, no
     AUTH), envelope recipients the two local users: one copy encrypted to two
     keys, as the peer makes;
   * **Murmeli, submission**: the listener mail programs use (STARTTLS and AUTH
     once per connection); the sender is a third local user, so the copy is
     encrypted to three keys (the sender's too);
   * **Murmeli, pass-through**: content filter, recipients outside, so nothing
     is encrypted: the baseline of the added latency;
   * **gpg relay** and **gpg relay, pass-through** (no gpg) likewise;

   in ``--rounds`` rounds, every contender relaying its share of the messages
   in turn (the order rotated each round) after an untimed warm-up, so machine
   noise hits all alike;
6. checks every round of every contender, and stops with exit status 1 (no
   table, no verdict) if any differs: every message delivered, the PGP/MIME
   count equal to the messages for an encrypting contender and 0 for a
   pass-through one, and each sampled copy, decrypted by ``gpg`` once with each
   recipient's private key alone (exported from Murmeli), equal to the MIME
   entity sent (a pass-through copy: equal as sent);
7. prints messages/s (the median over the rounds of messages over wall-clock
   time), CPU ms per message (the median over the rounds of the relay process's
   user + system time from ``/proc``, its waited gpg children included; beside
   it the clients' and the sink's, which share the machine's cores), the
   latency of DATA (from sending the message to the reply: the relay answers
   only once the next hop took the copy), and the added latency: the median
   and p99 of all rounds minus the same percentile of its pass-through
   contender. With ``--clients`` messages in flight, latency includes waiting
   for the CPU. Every ratio is Murmeli's messages/s over the peer's (higher =
   Murmeli faster). Targets: Murmeli content filter >= 1.5x the gpg relay in
   messages/s; p99 added latency < 100 ms. Plain text, then Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import shutil
import smtplib
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.relay_copies import Keyrings, check_copy
from bench.report import exit_status, print_report, rotated, verify
from crypto.pgpmime import field_name, split_header
from crypto.relay_workers import worker_count
from crypto.settings import RelaySettings
from crypto.wrapping import new_kek
from tests.ports import free_port
from tests.test_tls import self_signed

SEED = 20240611
MURMELI = [sys.executable, "-m", "davserver.cli"]
DOMAIN = "murmeli.bench"
SENDER = "someone@elsewhere.bench"
OUTSIDE = ("friend1@elsewhere.bench", "friend2@elsewhere.bench")
TEXT_SIZE, ATTACHMENT_SIZE = 12_000, 27_000  # ~50 KB on the wire with base64 and headers
TARGET_RATIO, TARGET_P99_MS = 1.5, 100.0
TICK = os.sysconf("SC_CLK_TCK")
WARM_UP = 20
SAMPLES = 2  # copies checked with gpg, per round and contender
KEY_PASSPHRASE = "bench-key-passphrase"
Job = tuple[str, list[str], bytes]


def bodies(count: int) -> list[bytes]:
    """The MIME entity (Content-* fields and body) of each message, CRLF, from a fixed seed."""
    rng = random.Random(SEED)
    words = ("invoice", "meeting", "report", "budget", "draft", "server", "Grüße", "naïve")
    entities = []
    for serial in range(count):
        message = EmailMessage()
        lines, size = [], 0
        while size < TEXT_SIZE:
            line = " ".join(rng.choice(words) for _ in range(rng.randint(6, 12)))
            lines.append(line)
            size += len(line) + 1
        message.set_content("\n".join(lines) + "\n")
        message.add_attachment(
            rng.randbytes(ATTACHMENT_SIZE), "application", "octet-stream",
            filename=f"figures-{serial}.bin",
        )  # fmt: skip
        fields, body = split_header(message.as_bytes(policy=SMTP_POLICY))
        kept = [f for f in fields if field_name(f).startswith(b"content-")]
        entities.append(b"\r\n".join([b"MIME-Version: 1.0", *kept]) + b"\r\n\r\n" + body)
    return entities


def split_entity(data: bytes) -> tuple[list[bytes], bytes]:
    """The header fields that stay outside, and the MIME entity (Content-* fields and body)
    that PGP/MIME encrypts: how both relays split a message, and how copies are checked."""
    fields, body = split_header(data)
    content = [f for f in fields if field_name(f).startswith(b"content-")]
    outside = [f for f in fields if not field_name(f).startswith((b"content-", b"mime-"))]
    return outside, b"\r\n".join(content) + b"\r\n\r\n" + body


def with_header(entity: bytes, serial: int, sender: str, recipients: Sequence[str]) -> bytes:
    head = (
        f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: Figures {serial}\r\n"
        f"Date: Tue, 11 Jun 2024 10:00:00 +0200\r\nMessage-ID: <{serial}.{SEED}@bench>\r\n"
    )
    return head.encode() + entity


# The next hop ---------------------------------------------------------------------------------


class CountingSink:
    """Counts what arrives and keeps every ``stride``-th copy in ``samples`` for checking."""

    def __init__(self, received, encrypted, samples: Path, stride: int) -> None:
        self.received, self.encrypted = received, encrypted
        self.samples, self.stride = samples, stride

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.received.get_lock():
            self.received.value += 1
            number = self.received.value
        if number % self.stride == 0:
            (self.samples / f"{number:08d}.eml").write_bytes(envelope.content)
        if b"multipart/encrypted" in envelope.content[:4096]:
            with self.encrypted.get_lock():
                self.encrypted.value += 1
        return "250 2.0.0 OK"


def run_sink(port: int, received, encrypted, samples: Path, stride: int, stop) -> None:
    controller = Controller(
        CountingSink(received, encrypted, samples, stride), hostname="127.0.0.1", port=port,
        data_size_limit=0,
    )  # fmt: skip
    controller.start()
    stop.wait()
    controller.stop()


# The peer: a gpg subprocess per message --------------------------------------------------------


class GpgRelay:
    """gpg-mailgate's way in a minimal aiosmtpd relay: gpg per message, a connection per send."""

    def __init__(self, gpg: list[str] | None, next_hop: int) -> None:
        self.gpg = gpg
        self.next_hop = next_hop

    async def handle_DATA(self, server, session, envelope) -> str:
        data = envelope.original_content
        if self.gpg is not None:
            outside, entity = split_entity(data)
            gpg = await asyncio.create_subprocess_exec(
                *self.gpg, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            armored, problem = await gpg.communicate(entity)
            if gpg.returncode != 0:
                return f"451 4.3.0 gpg failed: {problem.decode(errors='replace')[:200]}"
            data = pgp_mime(outside, armored.replace(b"\n", b"\r\n"))
        await asyncio.get_running_loop().run_in_executor(
            None, self.forward, envelope.mail_from, list(envelope.rcpt_tos), data
        )
        return "250 2.0.0 OK"

    def forward(self, sender: str, recipients: list[str], data: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.next_hop, timeout=60) as smtp:
            smtp.sendmail(sender, recipients, data)


def pgp_mime(outside: list[bytes], armored: bytes) -> bytes:
    boundary = b"gpg-relay-" + os.urandom(12).hex().encode()
    return b"\r\n".join(
        [
            *outside,
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";',
            b' boundary="' + boundary + b'"',
            b"",
            b"--" + boundary,
            b"Content-Type: application/pgp-encrypted",
            b"",
            b"Version: 1",
            b"",
            b"--" + boundary,
            b'Content-Type: application/octet-stream; name="encrypted.asc"',
            b"",
            armored,
            b"--" + boundary + b"--",
            b"",
        ]
    )


def run_gpg_relay(port: int, next_hop: int, gpg: list[str] | None, ready, stop) -> None:
    controller = Controller(
        GpgRelay(gpg, next_hop), hostname="127.0.0.1", port=port, data_size_limit=0
    )
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


# Murmeli ----------------------------------------------------------------------------------------


class MurmeliRelay:
    """``murmeli relay`` in a data folder of its own, with three users whose keys exist."""

    def __init__(self, work: Path, next_hop: int, workers: int | None) -> None:
        self.work = work
        self.certificate, key = self_signed(work)
        (work / "kek").write_text(new_kek())
        self.submission, self.content_filter = free_port(), free_port()
        self.config = work / "murmeli.yaml"
        self.config.write_text(
            "relay:\n"
            f"  kek_file: {work / 'kek'}\n"
            "  submission:\n"
            f"    listen: 127.0.0.1:{self.submission}\n"
            f"    certificate: {self.certificate}\n"
            f"    key: {key}\n"
            "  content_filter:\n"
            f"    listen: 127.0.0.1:{self.content_filter}\n"
            "  next_hop:\n"
            "    host: 127.0.0.1\n"
            f"    port: {next_hop}\n"
            "    security: none\n" + ("" if workers is None else f"  workers: {workers}\n")
        )
        self.env = dict(
            os.environ, MURMELI_DATA=str(work / "data"), MURMELI_CONFIG=str(self.config)
        )
        self.process: subprocess.Popen | None = None
        self.users = {short: (f"{short}bench", f"{short}-bench-password") for short in "abc"}

    def address(self, short: str) -> str:
        return f"{self.users[short][0]}@{DOMAIN}"

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [*MURMELI, *args], input=stdin, capture_output=True, text=True, env=self.env,
            timeout=120,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"murmeli {' '.join(args)}: {done.stderr}")
        return done.stdout

    def prepare(self) -> tuple[dict[str, str], dict[str, str]]:
        """Users and their keys; each user's armored public key, and private key protected
        with ``KEY_PASSPHRASE`` (to check the copies with gpg)."""
        for short, (name, password) in self.users.items():
            self.cli("user", "add", name, "--password-stdin", "--email", self.address(short),
                     stdin=password + "\n")  # fmt: skip
        addresses = [self.address(s) for s in "abc"]
        public = {address: self.cli("keys", "export", address) for address in addresses}
        export = ["keys", "export", "--private", "--passphrase-stdin"]
        private = {a: self.cli(*export, a, stdin=KEY_PASSPHRASE + "\n") for a in addresses}
        return public, private

    def start(self) -> int:
        self.process = subprocess.Popen(
            [*MURMELI, "relay"], stderr=subprocess.PIPE, text=True, env=self.env
        )
        log = []
        assert self.process.stderr is not None
        for line in self.process.stderr:
            log.append(line)
            # One process: it listens. Several: the parent says when every worker listens.
            if (
                "murmeli.relay: relay content filter listening" in line
                or "relay running in" in line
            ):
                threading.Thread(target=self.process.stderr.read, daemon=True).start()
                return self.process.pid
        raise RuntimeError("murmeli relay did not start:\n" + "".join(log))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """User + system time of ``pid`` and of every process it started (waited children
    are in cutime/cstime; worker processes still running are read directly, whichever
    of its threads started them)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(value) for value in stat[11:15]) / TICK
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(FileNotFoundError):
            for child in children.read_text().split():
                with contextlib.suppress(FileNotFoundError):
                    total += cpu_seconds(int(child))
    return total


# Clients ----------------------------------------------------------------------------------------


@dataclass
class Round:
    """One contender's share of one round."""

    messages: int
    seconds: float
    cpu: float
    others: float  # CPU seconds of the clients (this process) and the sink


@dataclass
class Contender:
    name: str
    pid: int
    clients: Callable[[], list[Client]]
    jobs: list[Job]
    note: str = ""
    encrypted_to: tuple[str, ...] = ()  # whose keys must open each copy; () = pass-through
    baseline: Contender | None = None
    rounds: list[Round] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    encrypted: int = 0

    @property
    def messages(self) -> int:
        return sum(r.messages for r in self.rounds)

    @property
    def rate(self) -> float:
        return statistics.median(r.messages / r.seconds for r in self.rounds)

    def per_message_ms(self, cpu: Callable[[Round], float]) -> float:
        return statistics.median(cpu(r) / r.messages for r in self.rounds) * 1000

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    def added(self, share: float) -> float | None:
        return (
            None
            if self.baseline is None
            else self.percentile(share) - self.baseline.percentile(share)
        )


@dataclass
class Client:
    port: int
    login: tuple[str, str] | None = None
    ca_file: str | None = None
    latencies: list[float] = field(default_factory=list)

    def send(self, jobs: list[Job], next_job: Callable[[], int]) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=120) as smtp:
            # Without it, TLS's last small record of a message waits for a delayed ACK (40 ms).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if self.login is not None:
                smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                smtp.login(*self.login)
            while (index := next_job()) < len(jobs):
                sender, recipients, data = jobs[index]
                smtp.mail(sender)
                for recipient in recipients:
                    smtp.rcpt(recipient)
                started = time.perf_counter()
                code, text = smtp.data(data)
                self.latencies.append(time.perf_counter() - started)
                if code != 250:
                    raise RuntimeError(f"message {index} refused: {code} {text!r}")


def drive(clients: list[Client], jobs: list[Job]) -> float:
    """Send every job through the clients at once; the wall-clock seconds it took."""
    counter = iter(range(len(jobs) + len(clients)))
    lock = threading.Lock()

    def next_job() -> int:
        with lock:
            return next(counter)

    failures: list[BaseException] = []

    def work(client: Client) -> None:
        try:
            client.send(jobs, next_job)
        except BaseException as error:  # reported after the run
            failures.append(error)

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"a client failed: {failures[0]}")
    return time.perf_counter() - started


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="relay-bench-"))
        self.samples = self.work / "samples"
        self.samples.mkdir()
        self.mp = multiprocessing.get_context("spawn")
        self.received = self.mp.Value("l", 0)
        self.encrypted = self.mp.Value("l", 0)
        self.stops: list = []
        self.processes: list = []
        self.sink_port = free_port()
        self.murmeli = MurmeliRelay(self.work, self.sink_port, args.workers)
        self.keyrings: Keyrings | None = None
        self.contenders: list[Contender] = []

    def start_sink(self, stride: int) -> None:
        stop = self.mp.Event()
        process = self.mp.Process(
            target=run_sink,
            args=(self.sink_port, self.received, self.encrypted, self.samples, stride, stop),
        )
        process.start()
        self.stops.append(stop)
        self.processes.append(process)
        deadline = time.monotonic() + 30
        while not _listening(self.sink_port):
            if time.monotonic() > deadline:
                raise RuntimeError("the sink did not start")
            time.sleep(0.05)

    def start_gpg_relay(self, gpg: list[str] | None) -> tuple[int, int]:
        port, ready, stop = free_port(), self.mp.Event(), self.mp.Event()
        process = self.mp.Process(
            target=run_gpg_relay, args=(port, self.sink_port, gpg, ready, stop)
        )
        process.start()
        self.stops.append(stop)
        self.processes.append(process)
        if not ready.wait(30):
            raise RuntimeError("the gpg relay did not start")
        return port, process.pid

    def relay(self, contender: Contender, jobs: list[Job]) -> tuple[float, list[Client]]:
        """Sends ``jobs`` through ``contender``; checks what reached the sink (raises
        ``Mismatch``); the seconds it took and the clients (with their latencies)."""
        received, encrypted = self.received.value, self.encrypted.value
        clients = contender.clients()
        seconds = drive(clients, jobs)
        delivered = self.received.value - received
        sealed = self.encrypted.value - encrypted
        verify("messages delivered", contender.name, delivered, len(jobs))
        expected = len(jobs) if contender.encrypted_to else 0
        verify("PGP/MIME copies", contender.name, sealed, expected)
        contender.delivered += delivered
        contender.encrypted += sealed
        self.check_samples(contender)
        return seconds, clients

    def check_samples(self, contender: Contender) -> None:
        """The copies the sink kept since the last check are all this contender's."""
        assert self.keyrings is not None
        for path in sorted(self.samples.iterdir()):
            copy = path.read_bytes()
            path.unlink()
            sent = contender.jobs[serial_of(copy)][2]
            check_copy(
                contender.name, copy, sent, lambda data: split_entity(data)[1], self.keyrings,
                contender.encrypted_to,
            )  # fmt: skip

    def measure(self, contender: Contender, jobs: list[Job]) -> None:
        cpu, others = cpu_seconds(contender.pid), self.others_cpu()
        seconds, clients = self.relay(contender, jobs)
        contender.rounds.append(
            Round(len(jobs), seconds, cpu_seconds(contender.pid) - cpu, self.others_cpu() - others)
        )
        contender.latencies += [latency for client in clients for latency in client.latencies]
        print(f"  {contender.name}: {len(jobs) / seconds:.1f} msg/s", file=sys.stderr)

    def others_cpu(self) -> float:
        own = os.times()
        return own.user + own.system + cpu_seconds(self.processes[0].pid)

    def run(self) -> None:
        count, clients, rounds = self.args.messages, self.args.clients, self.args.rounds
        print(f"generating {count} messages...", file=sys.stderr)
        entities = bodies(count)
        self.size = statistics.mean(len(e) for e in entities) + 200
        share = -(-count // rounds)
        self.start_sink(max(1, share // SAMPLES))
        public, private = self.murmeli.prepare()
        self.keyrings = Keyrings(self.work, private, KEY_PASSPHRASE)
        murmeli_pid = self.murmeli.start()
        a, b, c = (self.murmeli.address(s) for s in "abc")
        local = [b, c]

        def jobs(sender: str, recipients: list[str]) -> list[Job]:
            return [(sender, recipients, with_header(e, i, sender, recipients))
                    for i, e in enumerate(entities)]  # fmt: skip

        def to(port: int, login: tuple[str, str] | None = None) -> Callable[[], list[Client]]:
            ca_file = self.murmeli.certificate if login else None
            return lambda: [Client(port, login, ca_file) for _ in range(clients)]

        outside = jobs(SENDER, list(OUTSIDE))
        home = self.gnupg_home(public, local)
        gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet", "--trust-model", "always",
               "--encrypt", "--armor", "-r", b, "-r", c]  # fmt: skip
        gpg_plain_port, gpg_plain_pid = self.start_gpg_relay(None)
        gpg_port, gpg_pid = self.start_gpg_relay(gpg)
        plain = Contender("Murmeli, pass-through", murmeli_pid, to(self.murmeli.content_filter),
                          outside, "content filter, outside recipients")  # fmt: skip
        gpg_plain = Contender("gpg relay, pass-through", gpg_plain_pid, to(gpg_plain_port),
                              outside, "no gpg")  # fmt: skip
        self.contenders = [
            plain,
            Contender("Murmeli, content filter", murmeli_pid, to(self.murmeli.content_filter),
                      jobs(SENDER, local), "2 keys", (b, c), plain),
            Contender("Murmeli, submission", murmeli_pid,
                      to(self.murmeli.submission, self.murmeli.users["a"]), jobs(a, local),
                      "STARTTLS+AUTH, 3 keys (sender's)", (a, b, c), plain),
            gpg_plain,
            Contender("gpg relay", gpg_pid, to(gpg_port), jobs(SENDER, local),
                      "gpg per message, 2 keys", (b, c), gpg_plain),
        ]  # fmt: skip
        for contender in self.contenders:
            self.relay(contender, contender.jobs[:WARM_UP])
            contender.delivered = contender.encrypted = 0
        for turn in range(rounds):
            print(f"round {turn + 1}/{rounds}", file=sys.stderr)
            for contender in rotated(self.contenders, turn):
                self.measure(contender, contender.jobs[turn * share : (turn + 1) * share])

    def gnupg_home(self, keys: dict[str, str], recipients: list[str]) -> Path:
        home = self.work / "gnupg"
        home.mkdir(mode=0o700)
        for address in recipients:
            subprocess.run(
                ["gpg", "--homedir", str(home), "--batch", "--quiet", "--import"],
                input=keys[address].encode(), check=True, capture_output=True,
            )  # fmt: skip
        return home

    def close(self) -> None:
        self.murmeli.stop()
        for stop in self.stops:
            stop.set()
        for process in self.processes:
            process.join(timeout=30)
        subprocess.run(["gpgconf", "--homedir", str(self.work / "gnupg"), "--kill", "all"],
                       check=False, capture_output=True)  # fmt: skip
        if self.keyrings is not None:
            self.keyrings.close()
        shutil.rmtree(self.work, ignore_errors=True)


def serial_of(message: bytes) -> int:
    """The message's serial, its index in the jobs, from its Message-ID (kept in every copy)."""
    return int(str(message_from_bytes(message)["Message-ID"]).strip("<").split(".", 1)[0])


def _listening(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2):
            return True
    except OSError:
        return False


# Report -----------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(contenders: Sequence[Contender]) -> list[list[str]]:
    rows = [["contender", "msg/s", "CPU ms/msg", "clients+sink CPU ms/msg",
             "DATA p50 ms", "DATA p99 ms",
             "added p50 ms", "added p99 ms", "delivered", "PGP/MIME", "note"]]  # fmt: skip
    for c in contenders:
        rows.append(
            [
                c.name, f"{c.rate:.1f}", f"{c.per_message_ms(lambda r: r.cpu):.1f}",
                f"{c.per_message_ms(lambda r: r.others):.1f}",
                _ms(c.percentile(0.5)), _ms(c.percentile(0.99)),
                _ms(c.added(0.5)), _ms(c.added(0.99)),
                f"{c.delivered}/{c.messages}", f"{c.encrypted}",
                c.note,
            ]
        )  # fmt: skip
    return rows


def verdicts(contenders: Sequence[Contender]) -> list[str]:
    by_name = {c.name: c for c in contenders}
    ours, theirs = by_name["Murmeli, content filter"], by_name["gpg relay"]
    ratio = ours.rate / theirs.rate
    lines = [
        f"Murmeli content filter / gpg relay: {ratio:.2f}x messages/s "
        f"(target >= {TARGET_RATIO}x: {'met' if ratio >= TARGET_RATIO else 'MISSED'})",
        f"Murmeli submission / gpg relay: {by_name['Murmeli, submission'].rate / theirs.rate:.2f}x",
    ]
    for name in ("Murmeli, content filter", "Murmeli, submission"):
        p99 = by_name[name].added(0.99) or 0.0
        verdict = "met" if p99 < TARGET_P99_MS else "MISSED"
        lines.append(f"{name}: added p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms: {verdict})")
    return lines


def run(args: argparse.Namespace) -> None:
    workers = worker_count(RelaySettings(workers=args.workers))
    bench = Bench(args)
    try:
        bench.run()
    finally:
        bench.close()
    corpus = (
        f"{args.messages} messages of ~{bench.size / 1000:.0f} KB (text + binary attachment) "
        f"to 2 recipients, {args.clients} SMTP clients at once, {args.rounds} rounds, "
        f"{os.cpu_count()} cores, murmeli relay in {workers} processes (relay.workers)"
    )
    print_report(corpus, table(bench.contenders), verdicts(bench.contenders))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 messages, 3 rounds")
    parser.add_argument("--messages", type=int, help="messages per contender (default 2,000)")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, quick 3)")
    parser.add_argument("--clients", type=int, default=4, help="SMTP clients at once")
    parser.add_argument("--workers", type=int, help="relay.workers (default: one per CPU, max 8)")
    args = parser.parse_args()
    args.messages = args.messages or (300 if args.quick else 2_000)
    args.rounds = args.rounds or (3 if args.quick else 5)
    if shutil.which("gpg") is None:
        raise SystemExit("needs GnuPG: apt-get install gnupg")
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
