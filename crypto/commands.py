"""``murmeli keys list|export|import|rotate-kek``: the OpenPGP keys from the command line.

A key of a local address (a Murmeli user's, or any address of
``relay.local_domains``) lives in the ``KeyStore``; a key of an outside address
belongs to one user's keyring (``--owner``) and is used only for that user's
mail. Passphrases are read from stdin (``--passphrase-stdin``) or asked at a
terminal, never taken from the command line where ``ps`` would show them.

The key store and the OpenPGP library are imported by the handlers that use
them, so that the other commands run without loading them.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from crypto.wrapping import decode_kek, load_kek
from davserver.command_line import UsageError, load_services, print_table, read_password
from davserver.services import Services

Handler = Callable[[argparse.Namespace], int]
_STDIN_HELP = "read the passphrase from the first line of stdin"


def register(subcommands, common: argparse.ArgumentParser) -> None:
    keys = subcommands.add_parser("keys", help="OpenPGP keys of the encryption relay")
    actions = keys.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", parents=[common], help="list keys")
    listing.add_argument("--owner", metavar="USER", help="USER's imported keys of outside people")
    listing.set_defaults(handler=list_keys)

    export = actions.add_parser("export", parents=[common], help="print a key, armored")
    export.add_argument("address", metavar="ADDR")
    export.add_argument(
        "--private", action="store_true", help="the private key, protected with a passphrase"
    )
    export.add_argument("--passphrase-stdin", action="store_true", help=_STDIN_HELP)
    export.set_defaults(handler=export_key)

    load = actions.add_parser("import", parents=[common], help="import a key from FILE")
    load.add_argument("address", metavar="ADDR")
    load.add_argument("file", metavar="FILE", type=Path, help="armored or binary key")
    load.add_argument(
        "--owner", metavar="USER", help="for an outside ADDR: the user whose keyring gets it"
    )
    load.add_argument(
        "--replace", action="store_true", help="replace the key a local ADDR has already"
    )
    load.add_argument("--passphrase-stdin", action="store_true", help=_STDIN_HELP)
    load.set_defaults(handler=import_key)

    rotate = actions.add_parser(
        "rotate-kek", parents=[common], help="re-wrap every private key under a new KEK"
    )
    rotate.add_argument(
        "--new-kek-file", required=True, type=Path, metavar="FILE", help="the new KEK (base64)"
    )
    rotate.set_defaults(handler=rotate_key_encryption_key)


def _refusals_as_usage_errors(handler: Handler) -> Handler:
    """Refused key input is bad input (exit 2), worded as ``KeyStoreError`` words it."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from crypto.keys import KeyStoreError

        try:
            return handler(args)
        except KeyStoreError as error:
            raise UsageError(str(error)) from None

    return run


@_refusals_as_usage_errors
def list_keys(args: argparse.Namespace) -> int:
    services = load_services(args)
    if args.owner:
        owner = services.directory.get(args.owner).name
        stored = services.recipient_keys.list(owner)
    else:
        stored = services.key_store.stored()
    rows = [("ADDRESS", "FINGERPRINT", "CREATED")]
    rows += [(k.address, k.fingerprint, _date(k.created_at)) for k in stored]
    print_table(rows)
    return 0


@_refusals_as_usage_errors
def export_key(args: argparse.Namespace) -> int:
    services = load_services(args)
    address = _local_address(services, args.address)
    if args.private:
        passphrase = read_password(args.passphrase_stdin, "Passphrase for the exported key: ")
        sys.stdout.write(services.key_store.export_private(address, passphrase))
    else:
        sys.stdout.write(services.key_store.export_public(address))
    return 0


@_refusals_as_usage_errors
def import_key(args: argparse.Namespace) -> int:
    from crypto.keys import normalise_address

    services = load_services(args)
    address = normalise_address(args.address)
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.file}: {error.strerror}") from None
    if _is_local(services, address):
        if args.owner:
            raise UsageError(f"--owner: {address} is local; its key is Murmeli's own")
        passphrase = _passphrase_if_needed(data, args.passphrase_stdin)
        stored = services.key_store.import_private(address, data, passphrase, args.replace)
        print(f"{address}: imported key pair {stored.fingerprint}")
        if args.replace:
            print("restart a running `murmeli serve` so that it uses the new key")
        return 0
    if not args.owner:
        raise UsageError(f"--owner USER is required: {address} is not a local address")
    stored = services.recipient_keys.add(args.owner, address, data)
    print(f"{address}: imported public key {stored.fingerprint} for {args.owner}")
    return 0


def rotate_key_encryption_key(args: argparse.Namespace) -> int:
    from crypto.keys import rotate_kek

    services = load_services(args)
    old = load_kek(services.settings.relay)
    try:
        encoded = args.new_kek_file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--new-kek-file: cannot read {args.new_kek_file}: {error}") from None
    new = decode_kek(encoded, f"--new-kek-file {args.new_kek_file}")
    if new == old:
        raise UsageError("--new-kek-file holds the key-encryption key already configured")
    count = rotate_kek(services.database, old, new)
    print(f"re-wrapped {count} private keys under the new key-encryption key")
    print(
        "now configure it (relay.kek_file or the relay.kek_environment variable) "
        "and restart Murmeli: the old one no longer opens the keys"
    )
    return 0


def _is_local(services: Services, address: str) -> bool:
    domain = address.rsplit("@", 1)[1]
    return (
        services.directory.find_by_address(address) is not None
        or domain in services.settings.relay.local_domains
        or any(stored.address == address for stored in services.key_store.stored())
    )


def _local_address(services: Services, address: str) -> str:
    from crypto.keys import normalise_address

    address = normalise_address(address)
    if not _is_local(services, address):
        raise UsageError(f"{address} is not a local address (no Murmeli user has it)")
    return address


def _passphrase_if_needed(data: bytes, from_stdin: bool) -> str | None:
    """The passphrase of the key pair being imported, if it has one."""
    from crypto.keys import parse_key_data

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not parse_key_data(data).is_protected:
        return None
    if not sys.stdin.isatty():
        raise UsageError("the key is protected: give its passphrase with --passphrase-stdin")
    return getpass.getpass("Passphrase of the key: ")


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
