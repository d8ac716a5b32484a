"""``murmeli secure-message send|list|revoke|unlock``: password-protected messages by hand.

``send`` delivers a saved message (an ``.eml`` file) the way the relay does
for an outside recipient without a key: sealed under a password, with a
notification carrying the link. Useful when a message must reach someone
securely from outside a mail client; it prints the secure message's id.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from crypto.secure_delivery import DeliveryError, NotificationFailed, SecureDelivery
from davserver.command_line import UsageError, load_services, print_table, read_password


def register(subcommands, common: argparse.ArgumentParser) -> None:
    secure = subcommands.add_parser(
        "secure-message", help="password-protected messages to outside recipients"
    )
    actions = secure.add_subparsers(dest="action", required=True, metavar="ACTION")

    send = actions.add_parser("send", parents=[common], help="deliver an .eml file by password")
    send.add_argument("file", type=Path, metavar="MESSAGE.eml")
    send.add_argument("--from", dest="sender", required=True, metavar="ADDR")
    send.add_argument("--to", dest="recipient", required=True, metavar="ADDR")
    send.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    send.set_defaults(handler=send_message)

    listing = actions.add_parser("list", parents=[common], help="list secure messages")
    listing.add_argument("--from", dest="sender", metavar="ADDR", help="only those ADDR sent")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_messages)

    revoke = actions.add_parser("revoke", parents=[common], help="withdraw a message at once")
    revoke.add_argument("id")
    revoke.set_defaults(
        handler=lambda a: _act(a, SecureDelivery.revoke, "withdrawn: its link answers 410")
    )

    unlock = actions.add_parser("unlock", parents=[common], help="reset its wrong-password count")
    unlock.add_argument("id")
    unlock.set_defaults(handler=lambda a: _act(a, SecureDelivery.unlock, "unlocked"))


def send_message(args: argparse.Namespace) -> int:
    try:
        message = args.file.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.file}: {error.strerror}") from None
    password = read_password(args.password_stdin, "Password for the recipient: ")
    try:
        message_id = load_services(args).secure_delivery.deposit(
            args.sender, args.recipient, message, password
        )
    except NotificationFailed as error:
        print(f"murmeli: not sent: {error}", file=sys.stderr)
        return 1
    except DeliveryError as error:
        raise UsageError(f"not sent: {error}") from None
    print(f"notification sent to {args.recipient}; secure message id:")
    print(message_id)
    return 0


def list_messages(args: argparse.Namespace) -> int:
    delivery = load_services(args).secure_delivery
    messages = delivery.of_sender(args.sender) if args.sender else delivery.every()
    if args.json:
        print(json.dumps(messages, indent=1))
        return 0
    rows = [("ID", "FROM", "TO", "EXPIRES", "FAILURES", "STATE")]
    for m in messages:
        state = "revoked" if m["revoked"] else "locked" if m["locked"] else "readable"
        rows.append((m["id"], m["sender"], m["recipient"], m["expires"], str(m["failures"]), state))
    print_table(rows)
    return 0


def _act(args: argparse.Namespace, action: Callable[[SecureDelivery, str], None], done: str) -> int:
    delivery = load_services(args).secure_delivery
    if delivery.sent_by(args.id, None) is None:
        raise UsageError(f"no secure message {args.id}")
    action(delivery, args.id)
    print(f"secure message {args.id} {done}")
    return 0
