"""The import daemon: takes queued jobs and runs them in threads, bounded overall and per source.

One daemon per data folder (a lock file says so: two would copy the same job
twice at once). On start, jobs a killed daemon left ``running`` are queued
again and resumed where their last committed batch left them. Every
``poll_interval`` it starts what the limits allow (oldest first; a job whose
source server is busy waits without holding back the others) and passes
cancel requests to the jobs concerned. ``stop()`` ends every job at its next
batch and leaves it queued for the next start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from davserver.services import Services
from importer.jobs import QUEUED, Job, JobStore
from importer.notice import ImportNotice
from importer.runner import Control, JobRunner
from importer.settings import ImporterSettings

logger = logging.getLogger("murmeli.importer")


class ImporterBusy(RuntimeError):
    """Another importer already runs on this data folder."""


@dataclass
class _Running:
    job: Job
    control: Control
    thread: threading.Thread


class DaemonLock:
    """An exclusive ``flock`` on a file in the data folder; the kernel drops it if we die."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise ImporterBusy(
                f"another importer runs on this data folder (pid {holder})"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class ImportDaemon:
    def __init__(
        self, settings: ImporterSettings, store: JobStore, runner: JobRunner, lock: DaemonLock
    ) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.lock = lock
        self.running: dict[str, _Running] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, started: Callable[[], None] | None = None) -> None:
        """Until ``stop()``: the foreground loop of ``murmeli importer``; ``started`` is
        called once the data folder is this daemon's."""
        self.lock.acquire()
        try:
            if started is not None:
                started()
            resumed = self.store.requeue_running()
            if resumed:
                logger.info("importer: resuming %d interrupted job(s)", resumed)
            logger.info(
                "importer: running (at most %d jobs, %d per source server)",
                self.settings.max_jobs,
                self.settings.max_per_host,
            )
            while not self._stopping.is_set():
                self.tick()
                self._stopping.wait(self.settings.poll_interval)
            self._stop_jobs()
        finally:
            self.lock.release()

    def start(self) -> None:
        """In a background thread (``murmeli serve``)."""
        self._thread = threading.Thread(target=self._run_logged, name="murmeli-importer")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def tick(self) -> None:
        """Only asks the database what could change something: no cancel flags to read while
        nothing runs, no queue to list while every slot is taken."""
        self._reap()
        if self.running:
            cancelled = self.store.cancel_requested()
            for job, running in self.running.items():
                if job in cancelled:
                    running.control.cancel()
        if len(self.running) < self.settings.max_jobs:
            self._start_queued()

    def _start_queued(self) -> None:
        per_host = Counter(running.job.source_host.lower() for running in self.running.values())
        for job in self.store.list((QUEUED,)):
            if len(self.running) >= self.settings.max_jobs:
                return
            host = job.source_host.lower()
            if per_host[host] >= self.settings.max_per_host or not self.store.claim(job.id):
                continue
            per_host[host] += 1
            control = Control()
            thread = threading.Thread(
                target=self.runner.run, args=(job, control), name=f"import-{job.id[:8]}"
            )
            self.running[job.id] = _Running(job, control, thread)
            logger.info(
                "import %s: started (%s → %s)", job.id, job.source_login, job.destination_login
            )
            thread.start()

    def _reap(self) -> None:
        for job, running in list(self.running.items()):
            if not running.thread.is_alive():
                del self.running[job]

    def _stop_jobs(self) -> None:
        for running in self.running.values():
            running.control.stop()
        for running in self.running.values():
            running.thread.join()
        self.running.clear()

    def _run_logged(self) -> None:
        try:
            self.run()
        except ImporterBusy as error:
            logger.error("importer not started: %s", error)
        except Exception:
            logger.exception("importer: stopped by an unexpected failure")


def build_daemon(services: Services) -> ImportDaemon:
    settings = services.settings.importer
    store = services.import_jobs
    lock = DaemonLock(services.settings.server.data / "importer.lock")
    notice = ImportNotice(services.mailer, services.database)
    return ImportDaemon(settings, store, JobRunner(settings, store, notice.send), lock)
