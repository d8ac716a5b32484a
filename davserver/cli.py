"""The ``murmeli`` command: each package contributes its own subcommands.

Exit status: 0 done, 2 bad usage or input, 1 any other failure. Errors are one
line on stderr, never a traceback (set ``MURMELI_DEBUG=1`` to see one). Output
piped to a reader that stops early (``| head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import config.commands
import crypto.commands
import crypto.relay_commands
import crypto.secure_commands
import davserver.commands
import davserver.database_commands
import importer.commands
import plugins.availability.commands
import plugins.contacts_import.commands
import plugins.duplicates.commands
import plugins.publish.commands
import plugins.sharing.commands
from config.loader import ConfigError
from davserver.accounts.directory import AccountError
from davserver.command_line import common_options

COMMAND_MODULES = (
    config.commands,
    davserver.commands,
    davserver.database_commands,
    plugins.sharing.commands,
    plugins.availability.commands,
    plugins.publish.commands,
    plugins.duplicates.commands,
    plugins.contacts_import.commands,
    importer.commands,
    crypto.commands,
    crypto.relay_commands,
    crypto.secure_commands,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="murmeli", description="Murmeli: calendars, contacts and mail on your own server."
    )
    subcommands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for module in COMMAND_MODULES:
        module.register(subcommands, common)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
        # Radicale narrates its storage set-up ("creating now") as warnings: noise in a CLI.
        logging.getLogger("radicale").setLevel("ERROR")
    try:
        status = args.handler(args) or 0
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader went away (``murmeli user list | head -1``): stop quietly. Python would
        # flush stdout again at exit and complain, so it is pointed at devnull first
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ConfigError, AccountError) as error:
        print(f"murmeli: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 1
    except Exception as error:
        if os.environ.get("MURMELI_DEBUG"):
            raise
        print(f"murmeli: failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
