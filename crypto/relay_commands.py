"""``murmeli relay``: the OpenPGP relay alone, without the HTTP server, until SIGTERM or SIGINT.

It runs ``relay.workers`` processes (``crypto/relay_workers.py``); with one,
the relay runs in this process. ``--worker`` is how the parent starts each
worker: it logs with its pid, says ``ready`` on stdout once it listens, and
stops when its stdin (the parent's pipe) ends.

The relay (and with it the OpenPGP library) is imported when the command
runs, so that the other commands run without loading it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from davserver import logs
from davserver.command_line import load_services
from davserver.services import Services

WORKER_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


def register(subcommands, common: argparse.ArgumentParser) -> None:
    relay = subcommands.add_parser(
        "relay", parents=[common], help="run the OpenPGP encryption relay (SMTP)"
    )
    relay.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    relay.set_defaults(handler=run_relay)


def run_relay(args: argparse.Namespace) -> int:
    from crypto.relay_server import RelayServer
    from crypto.relay_workers import RelayWorkers, worker_command, worker_count

    services = load_services(args)
    logs.configure(services.settings.server.log_level)
    stop = _stop_on_signals()
    if args.worker:
        return _run_worker(services, stop)
    count = worker_count(services.settings.relay)
    if count == 1:
        server: RelayServer | RelayWorkers = RelayServer(services).start()
    else:
        server = RelayWorkers(services, worker_command(args), count).start()
    stop.wait()
    server.stop()
    return 0


def _run_worker(services: Services, stop: threading.Event) -> int:
    from crypto.relay_server import RelayServer
    from crypto.relay_workers import READY

    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(WORKER_LOG_FORMAT))
    server = RelayServer(services, reuse_port=True).start()
    threading.Thread(target=_await_parent_end, args=(stop,), daemon=True).start()
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    stop.wait()
    server.stop()
    return 0


def _await_parent_end(stop: threading.Event) -> None:
    """Reads the parent's pipe, never written to, until its end: the parent is gone.

    ``os.read``, not ``sys.stdin``: a daemon thread blocked holding the buffered
    reader's lock makes the interpreter abort at exit."""
    while os.read(sys.stdin.fileno(), 4096):
        continue
    stop.set()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
