"""``murmeli publish on|off|rotate|list``: public .ics links from the command line.

``on`` and ``rotate`` print the ``webcal://`` form, then the link alone on the
last line, so scripts can take it with ``tail -n 1``. Where the links' base comes
from goes to stderr, with a warning when ``server.base_url`` is not set.
"""

from __future__ import annotations

import argparse
import sys

from davserver.command_line import load_services, print_table
from davserver.services import Services
from plugins.publish.links import Link, base_url


def register(subcommands, common: argparse.ArgumentParser) -> None:
    publish = subcommands.add_parser("publish", help="public .ics links of calendars")
    actions = publish.add_subparsers(dest="action", required=True, metavar="ACTION")

    on = actions.add_parser("on", parents=[common], help="publish a calendar (or change its mode)")
    on.add_argument("collection", metavar="/OWNER/CALENDAR/")
    on.add_argument(
        "--busy-only",
        action="store_true",
        help="show times only: no titles, descriptions, locations or attendees",
    )
    on.set_defaults(handler=turn_on)

    off = actions.add_parser("off", parents=[common], help="stop publishing: the link answers 404")
    off.add_argument("collection", metavar="/OWNER/CALENDAR/")
    off.set_defaults(handler=turn_off)

    rotate = actions.add_parser("rotate", parents=[common], help="new link; the old one dies")
    rotate.add_argument("collection", metavar="/OWNER/CALENDAR/")
    rotate.set_defaults(handler=rotate_link)

    listing = actions.add_parser("list", parents=[common], help="list published calendars")
    listing.add_argument("user", nargs="?", help="only USER's calendars")
    listing.set_defaults(handler=list_links)


def turn_on(args: argparse.Namespace) -> int:
    services = load_services(args)
    mode = "busy-only" if args.busy_only else "full"
    link = services.published_calendars.publish(args.collection, mode)
    _print_link(link, _link_base(services), f"published ({link.mode})")
    return 0


def turn_off(args: argparse.Namespace) -> int:
    services = load_services(args)
    services.published_calendars.unpublish(args.collection)
    print(f"{args.collection} is no longer published; its link answers 404")
    return 0


def rotate_link(args: argparse.Namespace) -> int:
    services = load_services(args)
    link = services.published_calendars.rotate(args.collection)
    _print_link(link, _link_base(services), "has a new link; the old one is dead")
    return 0


def list_links(args: argparse.Namespace) -> int:
    services = load_services(args)
    base = _link_base(services)
    rows = [("CALENDAR", "MODE", "LINK")]
    rows += [
        (link.collection, link.mode, link.url(base))
        for link in services.published_calendars.owned_by(args.user)
    ]
    print_table(rows)
    return 0


def _print_link(link: Link, base: str, what: str) -> None:
    print(f"{link.collection} {what}")
    print(f"subscribe: {link.webcal(base)}")
    print(link.url(base))


def _link_base(services: Services) -> str:
    """The base of printed links, said on stderr: without ``server.base_url`` the links
    only work where the listening address is reachable."""
    server = services.settings.server
    base = base_url(server)
    if server.base_url:
        print(f"links use {base} (server.base_url)", file=sys.stderr)
    else:
        print(
            f"warning: links use {base} (server.listen); set server.base_url to the address "
            "people reach",
            file=sys.stderr,
        )
    return base
