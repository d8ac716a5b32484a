"""``murmeli contacts duplicates /OWNER/BOOK/``: list, merge, hide and undo from the command line.

Without an action it lists the groups (``--json``: each with its id, UIDs,
proposed reference and merged card). A merge prints the undo id alone on the
last line, so scripts can take it with ``tail -n 1``; ``--merges`` lists the
undo ids, also of a merge a crash stopped part way.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from davserver.command_line import UsageError, counted, load_services, print_table
from plugins.contacts_cli import contacts_actions
from plugins.duplicates.cards import content_lines, unescape
from plugins.duplicates.duplicates import Duplicates, Proposal
from plugins.duplicates.store import MergeRecord
from plugins.sharing.shares import SHARE_SEPARATOR, normalise_collection


def register(subcommands, common: argparse.ArgumentParser) -> None:
    duplicates = contacts_actions(subcommands, common).add_parser(
        "duplicates", parents=[common], help="find, merge or hide duplicate contacts; undo a merge"
    )
    duplicates.add_argument("addressbook", metavar="/OWNER/BOOK/")
    duplicates.add_argument("--json", action="store_true", help="print JSON")
    action = duplicates.add_mutually_exclusive_group()
    action.add_argument("--merge-all", action="store_true", help="merge every group not hidden")
    action.add_argument("--merge", metavar="GROUP", help="merge one group")
    action.add_argument("--hide", metavar="GROUP", help="do not propose this group again")
    action.add_argument("--unhide", metavar="GROUP", help="propose a hidden group again")
    action.add_argument("--undo", metavar="MERGE", help="put back what a merge changed")
    action.add_argument(
        "--merges", action="store_true", help="list the merges that can be undone, newest first"
    )
    duplicates.add_argument(
        "--reference", metavar="UID", help="with --merge: the card to keep (default: proposed)"
    )
    duplicates.add_argument("--show-hidden", action="store_true", help="list hidden groups too")
    duplicates.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    book, owner = _addressbook(args.addressbook)
    if args.reference and not args.merge:
        raise UsageError("--reference goes with --merge GROUP")
    finder = load_services(args).duplicates
    if args.merge or args.merge_all:
        return _merge(finder, owner, book, args)
    if args.hide:
        finder.hide(owner, book, args.hide)
        print(f"group {args.hide} of {book} is hidden; --unhide {args.hide} shows it again")
    elif args.unhide:
        finder.unhide(book, args.unhide)
        print(f"group {args.unhide} of {book} is proposed again")
    elif args.merges:
        _list_merges(finder.merges(owner, book), book, args.json)
    elif args.undo:
        record = finder.undo(owner, args.undo)
        restored = counted(len(record.before), "card")
        _print(args, {"undone": record.id}, f"restored {restored} of {book}")
    else:
        _list(finder.proposals(book, args.show_hidden), book, args.json)
    return 0


def _merge(finder: Duplicates, owner: str, book: str, args: argparse.Namespace) -> int:
    if args.merge:
        record: MergeRecord | None = finder.merge(owner, book, args.merge, args.reference)
    else:
        record = finder.merge_all(owner, book)
    if record is None:
        _print(args, {"id": None, "restores": []}, f"no duplicates to merge in {book}")
        return 0
    removed = sum(text is None for text in record.after.values())
    _print(
        args,
        record.as_json(),
        f"merged {counted(len(record.before), 'card')} into {len(record.after) - removed};"
        f" undo with --undo {record.id} (kept 30 days)\n{record.id}",
    )
    return 0


def _list(proposals: list[Proposal], book: str, as_json: bool) -> None:
    if as_json:
        groups = [proposal.as_json() for proposal in proposals]
        print(json.dumps({"addressbook": book, "groups": groups}, indent=1))
        return
    rows = [("GROUP", "CARDS", "NAME", "REFERENCE", "SAME")]
    for proposal in proposals:
        hidden = " (hidden)" if proposal.hidden else ""
        rows.append(
            (
                proposal.group.id + hidden,
                str(len(proposal.group.cards)),
                _full_name(proposal.merged),
                proposal.reference.uid,
                ",".join(proposal.identical),
            )
        )
    print_table(rows)
    print(f"{counted(len(proposals), 'group')} in {book}")


def _list_merges(records: list[MergeRecord], book: str, as_json: bool) -> None:
    """Each merge with its undo id; "unfinished" when it was stopped part way (undo puts
    back what it wrote)."""
    if as_json:
        print(json.dumps([record.as_json() for record in records], indent=1))
        return
    rows = [("MERGE", "CARDS", "MERGED AT (UTC)", "STATE")]
    for record in records:
        merged_at = datetime.fromtimestamp(record.created_at, UTC)
        rows.append(
            (
                record.id,
                str(len(record.before)),
                merged_at.strftime("%Y-%m-%d %H:%M"),
                "finished" if record.finished else "unfinished",
            )
        )
    print_table(rows)
    print(f"{counted(len(records), 'merge')} of {book} to undo with --undo MERGE")


def _print(args: argparse.Namespace, value: dict, text: str) -> None:
    print(json.dumps(value, indent=1) if args.json else text)


def _full_name(card: str) -> str:
    return next((unescape(value) for name, value in content_lines(card) if name == "FN"), "")


def _addressbook(path: str) -> tuple[str, str]:
    """The normalised path and its owner; shares are merged by their owner, not here."""
    book = normalise_collection(path)
    parts = book.strip("/").split("/")
    if len(parts) != 2 or not all(parts) or SHARE_SEPARATOR in parts[1]:
        raise UsageError(f"invalid address book {path!r}: expected /OWNER/BOOK/")
    return book, parts[0]
