"""``murmeli share add|list|remove``."""

from __future__ import annotations

import argparse

from davserver.command_line import load_services, print_table
from plugins.sharing.shares import Target, normalise_collection


def register(subcommands, common: argparse.ArgumentParser) -> None:
    share = subcommands.add_parser("share", help="share calendars and address books")
    actions = share.add_subparsers(dest="action", required=True, metavar="ACTION")
    target_help = "USER, group:TEAM or org (everyone but externals)"

    add = actions.add_parser("add", parents=[common], help="share a collection")
    add.add_argument("collection", metavar="/OWNER/COLLECTION/")
    add.add_argument(
        "--with", dest="targets", action="append", required=True, help=target_help + "; repeatable"
    )
    level = add.add_mutually_exclusive_group()
    level.add_argument("--write", action="store_true", help="read-write (default: read-only)")
    level.add_argument(
        "--freebusy", action="store_true", help="free/busy only: times, no event details"
    )
    add.set_defaults(handler=add_share)

    listing = actions.add_parser("list", parents=[common], help="list shares")
    listing.add_argument("user", nargs="?", help="only what USER shares and receives")
    listing.set_defaults(handler=list_shares)

    remove = actions.add_parser("remove", parents=[common], help="stop sharing")
    remove.add_argument("collection", metavar="/OWNER/COLLECTION/")
    remove.add_argument(
        "--with", dest="targets", action="append", required=True, help=target_help + "; repeatable"
    )
    remove.set_defaults(handler=remove_share)


def add_share(args: argparse.Namespace) -> int:
    services = load_services(args)
    collection = normalise_collection(args.collection)
    targets = [Target.parse(target) for target in dict.fromkeys(args.targets)]
    services.collections.require(collection)
    access = "write" if args.write else "freebusy" if args.freebusy else "read"
    for share in services.shares.add_each(collection, targets, access):
        print(f"{share.collection} shared with {share.target} ({share.access})")
    return 0


def list_shares(args: argparse.Namespace) -> int:
    services = load_services(args)
    rows = [("COLLECTION", "OWNER", "WITH", "ACCESS")]
    owned = services.shares.owned_by(args.user) if args.user else services.shares.owned_by()
    rows += [tuple(share.as_json().values()) for share in owned]
    if args.user:
        user = services.directory.get(args.user)
        for received in services.shares.received_by(user.name, user.groups):
            rows.append(
                (received.mapped_path(user.name), received.owner, user.name, received.access)
            )
    print_table(rows)
    return 0


def remove_share(args: argparse.Namespace) -> int:
    services = load_services(args)
    collection = normalise_collection(args.collection)
    targets = [Target.parse(target) for target in dict.fromkeys(args.targets)]
    services.shares.remove_each(collection, targets)
    for target in targets:
        print(f"{collection} no longer shared with {target}")
    return 0
