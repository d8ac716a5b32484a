"""``murmeli check-config``: validate a configuration without starting anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from config import loader


def register(subcommands, common: argparse.ArgumentParser) -> None:
    check = subcommands.add_parser(
        "check-config", parents=[common], help="validate a configuration file and exit"
    )
    check.add_argument("file", type=Path, nargs="?", help="file to check (default: --config)")
    check.add_argument(
        "--example", action="store_true", help="print every option with its default instead"
    )
    check.set_defaults(handler=check_config)


def check_config(args: argparse.Namespace) -> int:
    if args.example:
        print(loader.example(), end="")
        return 0
    path = args.file or args.config
    if path is None:
        print("no file given: the built-in defaults are valid")
        return 0
    loader.load(path)
    print(f"{path}: valid")
    return 0
