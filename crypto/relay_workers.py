"""``murmeli relay`` on every core: worker processes (``murmeli relay --worker``) on shared ports.

Encrypting holds the GIL (PGPy), so one process encrypts on one core. Each
worker opens every listener with SO_REUSEPORT and the kernel spreads new
connections across them (by a hash of each connection's addresses). Each
worker has services of its own (key cache, next-hop connections, remembered
logins); what must hold across workers is in the database: a key made on
first use by two workers at once is stored once, and a secure message
retried on another worker is found by its retry key.

The parent checks once, before any worker starts, what would stop them all
(settings, certificate, KEK, ports taken: with SO_REUSEPORT a second relay
would share the ports silently instead of failing). Then it supervises: a
worker that exits while the relay runs is logged and started again, at most
once per ``RESTART_PAUSE`` per worker so one failing at start does not spin.
Stopping passes SIGTERM to every worker, which stops listening and finishes
the messages in hand. A worker's stdin is a pipe from the parent that is never
written to: its end of file means the parent is gone (even by SIGKILL), and
the worker then stops the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from config.loader import ConfigError
from crypto.relay_server import check_startable
from crypto.settings import RelaySettings
from davserver.services import Services

logger = logging.getLogger("murmeli.relay")
MAX_DEFAULT_WORKERS = 8
READY = b"ready\n"  # a worker's stdout once it listens
START_TIMEOUT = 60.0  # seconds for a worker to listen
STOP_TIMEOUT = 60.0  # seconds for a worker to finish its messages after SIGTERM
RESTART_PAUSE = 5.0  # seconds between two starts of the same worker
SUPERVISION_INTERVAL = 0.5


def worker_count(settings: RelaySettings) -> int:
    """``relay.workers``, else one per CPU this process may run on, at most 8."""
    if settings.workers is not None:
        return settings.workers
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


def worker_command(args: argparse.Namespace) -> list[str]:
    """The same ``murmeli`` with the same configuration and data folder, as a worker."""
    command = [sys.executable, "-m", "davserver.cli", "relay", "--worker"]
    if args.config is not None:
        command += ["--config", str(args.config)]
    if args.data is not None:
        command += ["--data", str(args.data)]
    return command


class RelayWorkers:
    def __init__(self, services: Services, command: list[str], count: int) -> None:
        settings = services.settings.relay
        check_startable(services)
        for name, listen in (
            ("submission", settings.submission.listen),
            ("content filter", settings.content_filter.listen),
        ):
            if listen is not None:
                _check_free(name, listen.host, listen.port)
        self._command = command
        self._count = count
        self._workers: list[subprocess.Popen] = []
        self._started: list[float] = []
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(
            target=self._supervise, name="murmeli-relay-supervisor", daemon=True
        )

    def start(self) -> RelayWorkers:
        """Start every worker and return once each listens; none is left running on failure."""
        try:
            for _ in range(self._count):
                self._workers.append(self._spawn())
                self._started.append(time.monotonic())
            for worker in self._workers:
                _await_ready(worker)
        except BaseException:
            self._stop_workers()
            raise
        pids = ", ".join(str(worker.pid) for worker in self._workers)
        logger.info("relay running in %d processes (pids %s)", self._count, pids)
        self._supervisor.start()
        return self

    def stop(self) -> None:
        """SIGTERM to every worker; each finishes the messages it has in hand."""
        self._stopping.set()
        if self._supervisor.is_alive():
            self._supervisor.join()
        self._stop_workers()
        logger.info("relay stopped")

    def _spawn(self) -> subprocess.Popen:
        # A process group of its own: Ctrl-C at a terminal reaches the parent only, which
        # stops the workers itself (one stopped behind its back would be started again).
        return subprocess.Popen(
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, process_group=0
        )

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISION_INTERVAL):
            for slot, worker in enumerate(self._workers):
                if worker.poll() is None or self._stopping.is_set():
                    continue
                if time.monotonic() - self._started[slot] < RESTART_PAUSE:
                    continue
                _close_pipes(worker)
                self._workers[slot] = self._spawn()
                self._started[slot] = time.monotonic()
                logger.error(
                    "relay worker %d %s: started worker %d in its place",
                    worker.pid, _ended(worker.returncode), self._workers[slot].pid,
                )  # fmt: skip

    def _stop_workers(self) -> None:
        for worker in self._workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in self._workers:
            try:
                worker.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("relay worker %d did not stop in time: killed", worker.pid)
                worker.kill()
                worker.wait()
            if worker.returncode != 0:
                logger.error(
                    "relay worker %d %s while stopping", worker.pid, _ended(worker.returncode)
                )
            _close_pipes(worker)


def _check_free(name: str, host: str, port: int) -> None:
    """``ConfigError`` if the port is taken, by another relay's workers too (a socket bound
    without SO_REUSEPORT cannot join theirs)."""
    try:
        socket.create_server((host, port)).close()
    except OSError as error:
        raise ConfigError(f"relay {name}: cannot listen on {host}:{port}: {error}") from None


def _await_ready(worker: subprocess.Popen) -> None:
    assert worker.stdout is not None
    readable, _, _ = select.select([worker.stdout], [], [], START_TIMEOUT)
    if readable and worker.stdout.readline() == READY:
        return
    if worker.poll() is None:
        raise RuntimeError(f"relay worker {worker.pid} did not listen within {START_TIMEOUT:.0f} s")
    raise RuntimeError(
        f"relay worker {worker.pid} {_ended(worker.returncode)} before listening (its error above)"
    )


def _ended(returncode: int | None) -> str:
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


def _close_pipes(worker: subprocess.Popen) -> None:
    for pipe in (worker.stdin, worker.stdout):
        if pipe is not None:
            pipe.close()
