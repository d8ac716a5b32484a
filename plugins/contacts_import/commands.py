"""``murmeli contacts import`` and ``murmeli contacts import-group list|remove``.

``import`` prints the preview (format, mapping, counts, problems), then writes
everything at once, or nothing with ``--dry-run``. Cards already in the address
book are counted and left as they are. Exit status 2 when the file is refused
(too large, undecodable, malformed, nothing to import; a broken card too with
``--all-or-nothing``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from davserver.command_line import UsageError, load_services, print_table
from plugins.contacts_cli import contacts_actions
from plugins.contacts_import import limits
from plugins.contacts_import.csv_reader import CsvOptions
from plugins.contacts_import.group_removal import list_groups, remove_group
from plugins.contacts_import.groups import import_group
from plugins.contacts_import.importer import Plan, commit, plan
from plugins.contacts_import.progress import ProgressBar
from plugins.contacts_import.target import present, resolve

_SHOWN_PROBLEMS = 50
_LARGE = 1000  # contacts; a progress bar above this


def register(subcommands, common: argparse.ArgumentParser) -> None:
    actions = contacts_actions(subcommands, common)
    command = actions.add_parser(
        "import", parents=[common], help="import a vCard or CSV file into an address book"
    )
    command.add_argument("file", type=Path, metavar="FILE")
    command.add_argument("--addressbook", required=True, metavar="/OWNER/BOOK/")
    command.add_argument(
        "--new-addressbook",
        metavar="NAME",
        help="create the address book (at /OWNER/BOOK/, or a new path under /OWNER/)",
    )
    command.add_argument("--kind", choices=("vcard", "csv"), help="default: from the content")
    command.add_argument("--separator", help="CSV separator (default: detected); 'tab' for tab")
    command.add_argument("--no-header", action="store_true", help="the CSV has no header line")
    command.add_argument(
        "--start-line", type=int, default=1, metavar="N", help="the CSV table starts on line N"
    )
    command.add_argument("--map", metavar="COLUMN=FIELD,…", help='e.g. "Nom=family,Prénom=given"')
    command.add_argument(
        "--show", type=int, default=3, metavar="N", help="cards shown as they will be stored"
    )
    command.add_argument("--dry-run", action="store_true", help="show the preview; write nothing")
    command.add_argument(
        "--all-or-nothing",
        action="store_true",
        help="refuse the whole file when a card cannot be read (default: skip and report it)",
    )
    command.set_defaults(handler=import_file)

    group = actions.add_parser("import-group", help="review or undo an import by its group")
    group_actions = group.add_subparsers(dest="group_action", required=True, metavar="ACTION")
    listing = group_actions.add_parser("list", parents=[common], help="import groups and sizes")
    listing.add_argument("addressbook", metavar="/OWNER/BOOK/")
    listing.set_defaults(handler=list_import_groups)
    remove = group_actions.add_parser(
        "remove", parents=[common], help="take the group off its cards (they stay)"
    )
    remove.add_argument("addressbook", metavar="/OWNER/BOOK/")
    remove.add_argument("group", metavar="NAME")
    remove.add_argument("--delete-contacts", action="store_true", help="delete the cards too")
    remove.set_defaults(handler=remove_import_group)


def import_file(args: argparse.Namespace) -> int:
    raw = _read(args.file)
    services = load_services(args)
    collections = services.collections
    path = resolve(collections, args.addressbook, args.new_addressbook)
    options = CsvOptions(
        separator="\t" if args.separator in ("tab", "\\t") else args.separator,
        header=not args.no_header,
        start_line=args.start_line,
        mapping=args.map,
    )
    there = present(collections, path, args.new_addressbook is not None)
    bar = ProgressBar("reading")
    planned = plan(
        raw,
        import_group(datetime.now(), there.groups),
        there.uids,
        path,
        options,
        args.kind,
        progress=bar,
        all_or_nothing=args.all_or_nothing,
    )
    bar.finish()
    _print_preview(planned, path, args.show)
    if args.dry_run:
        print(f"dry run: nothing written ({len(planned.cards)} contacts would be imported)")
        return 0
    if not planned.cards:
        print(f"{planned.already_present} already present, nothing added")
        return 0
    if len(planned.cards) > _LARGE:
        print(f"writing {len(planned.cards)} contacts…", file=sys.stderr)
    count = commit(collections, path, planned, args.new_addressbook)
    print(f"imported {count} contacts into {path} (group {planned.group!r})")
    return 0


def _read(file: Path) -> bytes:
    try:
        limits.check_size(file.stat().st_size)
        return file.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror}") from None


def _print_preview(planned: Plan, path: str, show: int) -> None:
    preview = planned.preview(show)
    print(f"file: {planned.kind}, {planned.encoding}")
    if planned.mapping is not None:
        separator = {"\t": "tab"}.get(planned.separator or "", planned.separator)
        print(f"format: {planned.mapping.format}; separator {separator!r}")
        mapped = [rule for rule in planned.mapping.rules if rule.field != "ignore"]
        ignored = [rule.header for rule in planned.mapping.rules if rule.field == "ignore"]
        print("mapping: " + ", ".join(f"{rule.header}={rule.describe()}" for rule in mapped))
        if ignored:
            print("ignored columns: " + ", ".join(ignored))
    print(
        f"{planned.detected} contacts detected, {preview['to_import']} to import into {path}, "
        f"{planned.already_present} already present, {preview['skipped']} skipped; "
        f"group {planned.group!r}"
    )
    for problem in planned.problems[:_SHOWN_PROBLEMS]:
        print(f"  {problem}")
    if len(planned.problems) > _SHOWN_PROBLEMS:
        print(f"  … and {len(planned.problems) - _SHOWN_PROBLEMS} more problems")
    for card in preview["first"]:
        print(f"--- line {card['line']}: {card['name']}")
        print(card["vcard"].replace("\r\n", "\n"), end="")


def list_import_groups(args: argparse.Namespace) -> int:
    collections = load_services(args).collections
    path = resolve(collections, args.addressbook, None)
    rows = [("GROUP", "CARDS")]
    rows += [(name, str(count)) for name, count in list_groups(collections, path)]
    print_table(rows)
    return 0


def remove_import_group(args: argparse.Namespace) -> int:
    collections = load_services(args).collections
    path = resolve(collections, args.addressbook, None)
    count = remove_group(collections, path, args.group, args.delete_contacts)
    done = "deleted" if args.delete_contacts else "taken out of the group"
    print(f"{count} contacts of {args.group!r} {done}")
    return 0
