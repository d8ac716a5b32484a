"""``murmeli availability``: the nearest time everyone is free, from the command line."""

from __future__ import annotations

import argparse
import json

from davserver.command_line import load_services, print_table
from plugins.availability.lookup import Answer
from plugins.availability.query import build_query


def register(subcommands, common: argparse.ArgumentParser) -> None:
    command = subcommands.add_parser(
        "availability", parents=[common], help="find the nearest time all attendees are free"
    )
    command.add_argument("--organiser", required=True, help="user name of the organiser")
    command.add_argument("--attendees", required=True, help="comma-separated names or emails")
    command.add_argument("--start", required=True, help="desired start, e.g. 2027-03-01T11:45")
    command.add_argument("--duration", required=True, help="e.g. 60m or 1h")
    command.add_argument("--window", default="7d", help="search this far either side (7d)")
    command.add_argument("--timezone", help="organiser's zone (default: availability.timezone)")
    command.add_argument("--working-hours", help="e.g. 'Mon-Fri 08:00-18:00'")
    command.add_argument("--alternatives", type=int, default=3)
    command.add_argument("--json", action="store_true", help="print one JSON object")
    command.set_defaults(handler=availability)


def availability(args: argparse.Namespace) -> int:
    services = load_services(args)
    settings = services.settings.availability
    organiser = services.directory.get(args.organiser)
    query = build_query(
        args.attendees.split(","),
        args.start,
        args.duration,
        args.window,
        args.timezone,
        args.working_hours,
        args.alternatives,
        settings=settings,
    )
    answer = services.availability.lookup(organiser, query)
    if args.json:
        print(json.dumps(answer.as_json(), indent=1))
    else:
        _print_answer(answer)
    return 0


def _print_answer(answer: Answer) -> None:
    shown = answer.as_json()
    print(f"best: {shown['best'] or 'no common free time in the window'}")
    for alternative in shown["alternatives"]:
        print(f"  or: {alternative}")
    rows = [("ATTENDEE", "FROM", "TO", "TYPE")]
    for name, periods in shown["busy"].items():
        busy = [(name, p["start"], p["end"], p["type"]) for p in periods]
        rows += busy or [(name, "-", "-", "free")]
    rows += [(u["attendee"], "-", "-", f"unknown: {u['reason']}") for u in shown["unknown"]]
    print_table(rows)
