"""One import, in two steps: ``plan`` reads, maps and checks the whole file and writes
nothing (the preview shows the plan); ``commit`` stores every planned card in one
all-or-nothing write.

The file is refused up front when it is too large, undecodable or malformed. A
vCard that cannot be read is left out and reported by its line, or refuses the
file when the import is all or nothing. Cards already in the address book (the
same UID, or without one the same content: see ``identity``) are counted, not
stored again, so importing a file twice adds nothing the second time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from davserver.bulk_insert import NewItem
from davserver.collections import Collections
from plugins.contacts_import import limits
from plugins.contacts_import.build import vcard
from plugins.contacts_import.csv_formats import Mapping, mapping_for
from plugins.contacts_import.csv_reader import CsvOptions, read_rows, read_table
from plugins.contacts_import.decoding import decode
from plugins.contacts_import.errors import ImportRefused
from plugins.contacts_import.identity import content_uid, href_for
from plugins.contacts_import.validate import Problem, check_contact, name_only
from plugins.contacts_import.vcard_lines import count_cards, scan_cards
from plugins.contacts_import.vcards import StoredCard, normalise_cards

Progress = Callable[[int, int], None]  # (done, total)
UidForContent = Callable[[str], str]
_VCARD_START = re.compile(r"^\s*BEGIN:VCARD", re.IGNORECASE)


@dataclass
class Plan:
    kind: str  # "vcard" or "csv"
    encoding: str
    group: str
    detected: int  # contacts found in the file
    cards: list[StoredCard] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    mapping: Mapping | None = None
    separator: str | None = None
    already_present: int = 0  # cards of the file the address book has already

    def preview(self, first: int = 10) -> dict:
        preview = {
            "kind": self.kind,
            "encoding": self.encoding,
            "group": self.group,
            "detected": self.detected,
            "to_import": len(self.cards),
            "already_present": self.already_present,
            "skipped": self.skipped(),
            "problems": [problem.as_json() for problem in self.problems],
            "first": [
                {"line": card.line, "name": card.name, "uid": card.uid, "vcard": card.text}
                for card in self.cards[:first]
            ],
        }
        if self.mapping is not None:
            preview["format"] = self.mapping.format
            preview["separator"] = self.separator
            preview["mapping"] = self.mapping.as_json()
        return preview

    def skipped(self) -> int:
        """Contacts of the file left out for a problem."""
        return self.detected - len(self.cards) - self.already_present


def detect_kind(text: str) -> str:
    return "vcard" if _VCARD_START.match(text) else "csv"


def plan(
    raw: bytes,
    group: str,
    existing_uids: set[str],
    addressbook: str,
    options: CsvOptions | None = None,
    kind: str | None = None,
    progress: Progress | None = None,
    all_or_nothing: bool = False,
) -> Plan:
    """Everything the import of ``raw`` into ``addressbook`` would store, and every problem,
    before anything is written.

    New UIDs derive from the address book and each card's content, so planning the
    same upload again (preview, then commit; or a second import) gives the same cards.
    """
    limits.check_size(len(raw))
    text, encoding = decode(raw)

    def uids(content: str) -> str:
        return content_uid(addressbook, content)

    kind = kind or detect_kind(text)
    if kind == "vcard":
        result = _plan_vcards(text, encoding, group, uids, all_or_nothing)
    elif kind == "csv":
        result = _plan_csv(text, encoding, group, options or CsvOptions(), uids, progress)
    else:
        raise ImportRefused(f"unknown file kind {kind!r}: expected vcard or csv")
    _settle_uids(result, existing_uids)
    result.problems.sort(key=lambda problem: problem.line)
    if not result.cards and not result.already_present:
        raise ImportRefused("nothing to import: " + _why_nothing(result))
    return result


def _plan_vcards(
    text: str, encoding: str, group: str, uids: UidForContent, all_or_nothing: bool
) -> Plan:
    limits.check_lines(count_cards(text), "vCards")
    found = scan_cards(text)
    if found.broken and all_or_nothing:
        raise found.broken[0]
    read = normalise_cards(found.cards, group, uids, all_or_nothing)
    problems = [fault.as_problem() for fault in found.broken] + read.problems
    return Plan("vcard", encoding, group, found.detected(), read.cards, problems)


def _plan_csv(
    text: str,
    encoding: str,
    group: str,
    options: CsvOptions,
    uids: UidForContent,
    progress: Progress | None,
) -> Plan:
    table = read_table(text, options)
    limits.check_lines(len(table.rows), "CSV rows")
    mapping = mapping_for(table.headers, options.mapping)
    total = len(table.rows)
    read = read_rows(table, mapping, (lambda done: progress(done, total)) if progress else None)
    result = Plan("csv", encoding, group, total, mapping=mapping, separator=table.separator)
    result.problems = read.problems
    for contact in read.contacts:
        result.problems += check_contact(contact, {})
        if not contact.has_details():
            result.problems.append(name_only(contact.line, contact.display_name()))
            continue
        # The card without what differs between imports (UID, group) is its content.
        uid = uids(vcard(contact, "", ""))
        text = vcard(contact, uid, group)
        result.cards.append(StoredCard(uid, text, contact.line, contact.display_name()))
    return result


def _settle_uids(result: Plan, existing_uids: set[str]) -> None:
    """Cards already in the address book are counted, not stored again; a card repeated in
    the file (the same UID) is kept once."""
    first_line: dict[str, int] = {}
    kept = []
    for card in result.cards:
        if card.uid in first_line:
            result.problems.append(
                Problem(
                    card.line,
                    f"skipped {card.name!r}: the card of line {first_line[card.uid]} "
                    "has the same UID",
                )
            )
            continue
        first_line[card.uid] = card.line
        if card.uid in existing_uids:
            result.already_present += 1
        else:
            kept.append(card)
    result.cards = kept


def _why_nothing(result: Plan) -> str:
    if result.detected == 0:
        return "no contacts found in the file"
    shown = "; ".join(str(problem) for problem in result.problems[:3])
    more = f" (and {len(result.problems) - 3} more problems)" if len(result.problems) > 3 else ""
    return f"all {result.detected} contacts were skipped: {shown}{more}"


def commit(
    collections: Collections, addressbook: str, plan: Plan, new_addressbook: str | None = None
) -> int:
    """Stores every card of ``plan`` at once; nothing when anything fails. Returns the count."""
    if not plan.cards:
        return 0
    items = [NewItem(href_for(card.uid), card.uid, card.text) for card in plan.cards]
    collections.insert(addressbook, items, new_addressbook=new_addressbook)
    return len(items)
