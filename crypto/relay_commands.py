"""``murmeli relay``: the OpenPGP relay alone, without the HTTP server, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import threading

from crypto.relay_server import RelayServer
from davserver import logs
from davserver.command_line import load_services


def register(subcommands, common: argparse.ArgumentParser) -> None:
    relay = subcommands.add_parser(
        "relay", parents=[common], help="run the OpenPGP encryption relay (SMTP)"
    )
    relay.set_defaults(handler=run_relay)


def run_relay(args: argparse.Namespace) -> int:
    services = load_services(args)
    logs.configure(services.settings.server.log_level)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = RelayServer(services).start()
    stop.wait()
    server.stop()
    return 0
