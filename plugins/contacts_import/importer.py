"""One import, in two steps: ``plan`` reads, maps and checks the whole file and writes
nothing (the preview shows the plan); ``commit`` stores every planned card in one
all-or-nothing write.

The file is refused up front when it is too large, undecodable or malformed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from davserver.bulk_insert import NewItem
from davserver.collections import Collections
from plugins.contacts_import import limits
from plugins.contacts_import.build import new_uid, vcard
from plugins.contacts_import.csv_formats import Mapping, mapping_for
from plugins.contacts_import.csv_reader import CsvOptions, read_rows, read_table
from plugins.contacts_import.decoding import decode
from plugins.contacts_import.errors import ImportRefused
from plugins.contacts_import.validate import Problem, check_contact, name_only
from plugins.contacts_import.vcard_lines import count_cards, read_cards
from plugins.contacts_import.vcards import StoredCard, normalise_cards

Progress = Callable[[int, int], None]  # (done, total)
UidForLine = Callable[[int], str]
_SAFE_HREF = re.compile(r"^[A-Za-z0-9@._-]{1,120}$")
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

    def preview(self, first: int = 10) -> dict:
        preview = {
            "kind": self.kind,
            "encoding": self.encoding,
            "group": self.group,
            "detected": self.detected,
            "to_import": len(self.cards),
            "skipped": self.detected - len(self.cards),
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


def detect_kind(text: str) -> str:
    return "vcard" if _VCARD_START.match(text) else "csv"


def plan(
    raw: bytes,
    group: str,
    existing_uids: set[str],
    options: CsvOptions | None = None,
    kind: str | None = None,
    progress: Progress | None = None,
    seed: str | None = None,
) -> Plan:
    """Everything the import would store, and every problem, before anything is written.

    New UIDs derive from ``seed`` (a UUID) and the line of the contact, so planning
    the same upload again (preview, then commit) gives the same cards.
    """
    limits.check_size(len(raw))
    text, encoding = decode(raw)
    namespace = uuid.UUID(seed) if seed else uuid.uuid4()

    def uids(line: int) -> str:
        return str(uuid.uuid5(namespace, str(line)))

    kind = kind or detect_kind(text)
    if kind == "vcard":
        result = _plan_vcards(text, encoding, group, uids)
    elif kind == "csv":
        result = _plan_csv(text, encoding, group, options or CsvOptions(), uids, progress)
    else:
        raise ImportRefused(f"unknown file kind {kind!r}: expected vcard or csv")
    _settle_uids(result, existing_uids)
    if not result.cards:
        raise ImportRefused("nothing to import: " + _why_nothing(result))
    return result


def _plan_vcards(text: str, encoding: str, group: str, uids: UidForLine) -> Plan:
    limits.check_lines(count_cards(text), "vCards")
    cards = read_cards(text)
    read = normalise_cards(cards, group, uids)
    return Plan("vcard", encoding, group, len(cards), read.cards, read.problems)


def _plan_csv(
    text: str,
    encoding: str,
    group: str,
    options: CsvOptions,
    uids: UidForLine,
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
        uid = uids(contact.line)
        text = vcard(contact, uid, group)
        result.cards.append(StoredCard(uid, text, contact.line, contact.display_name()))
    result.problems.sort(key=lambda problem: problem.line)
    return result


def _settle_uids(result: Plan, existing_uids: set[str]) -> None:
    """Cards already in the address book are skipped; a UID repeated in the file is the
    same card twice, kept once."""
    seen: set[str] = set()
    kept = []
    for card in result.cards:
        if card.uid in existing_uids:
            result.problems.append(
                Problem(
                    card.line,
                    f"skipped {card.name!r}: UID {card.uid} is already in the address book",
                )
            )
        elif card.uid in seen:
            result.problems.append(
                Problem(
                    card.line, f"skipped {card.name!r}: UID {card.uid} appears twice in the file"
                )
            )
        else:
            seen.add(card.uid)
            kept.append(card)
    result.cards = kept


def _why_nothing(result: Plan) -> str:
    if result.detected == 0:
        return "no contacts found in the file"
    shown = "; ".join(str(problem) for problem in result.problems[:3])
    more = f" (and {len(result.problems) - 3} more problems)" if len(result.problems) > 3 else ""
    return f"all {result.detected} contacts were skipped: {shown}{more}"


def href_for(uid: str) -> str:
    return f"{uid}.vcf" if _SAFE_HREF.match(uid) else f"{new_uid()}.vcf"


def commit(
    collections: Collections, addressbook: str, plan: Plan, new_addressbook: str | None = None
) -> int:
    """Stores every card of ``plan`` at once; nothing when anything fails. Returns the count."""
    items = [NewItem(href_for(card.uid), card.uid, card.text) for card in plan.cards]
    collections.insert(addressbook, items, new_addressbook=new_addressbook)
    return len(items)
