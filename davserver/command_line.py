"""What every ``murmeli`` subcommand shares: the common options, loading settings, reading secrets.

``--config`` and ``--data`` default to ``MURMELI_CONFIG`` and ``MURMELI_DATA``,
then to the embedded defaults.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import sys
from pathlib import Path

from config import loader
from config.settings import Settings
from davserver.accounts.directory import AccountError
from davserver.services import Services


class UsageError(AccountError):
    """Bad usage or input: exit status 2."""


def common_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MURMELI_CONFIG") or None,
        help="YAML configuration file (default: $MURMELI_CONFIG, else built-in defaults)",
    )
    parent.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("MURMELI_DATA") or None,
        help="data folder (default: $MURMELI_DATA, else server.data of the configuration)",
    )
    return parent


def load_settings(args: argparse.Namespace) -> Settings:
    settings = loader.load(args.config)
    if args.data is not None:
        settings = dataclasses.replace(
            settings, server=dataclasses.replace(settings.server, data=args.data)
        )
    return settings


def load_services(args: argparse.Namespace) -> Services:
    return Services(load_settings(args))


def read_password(from_stdin: bool, prompt: str = "Password: ") -> str:
    """From the first line of stdin, or typed twice at a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if getpass.getpass("Again: ") != password:
            raise UsageError("the two passwords differ")
    else:
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    if len(password) < 8:
        raise UsageError("password too short: at least 8 characters")
    return password


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Aligned columns; the first row is the header."""
    print(format_table(rows))


def format_table(rows: list[tuple[str, ...]]) -> str:
    """The text ``print_table`` prints, for plain-text emails too."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """"1 group", "2 groups", "0 groups": the noun agrees with the number in messages."""
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
