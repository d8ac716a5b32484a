"""vCard files as cards of properties: unfolding, quoted-printable soft line breaks, vCard 2.1
base64 blocks and parameters, each property remembering its line in the file.

Written by hand because vobject reads vCard 3.0 only: old phones' 2.1 exports
(bare ``TEL;CELL:`` parameters, ``ENCODING=QUOTED-PRINTABLE`` values broken
over lines with ``=``, base64 photos ended by a blank line) need a tolerant
reader before they can become 3.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from plugins.contacts_import.errors import BrokenCard

_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/=]+$")


@dataclass
class Property:
    name: str  # upper case
    params: list[tuple[str, str]]  # (NAME upper case, value); a bare 2.1 parameter has name ""
    value: str
    line: int
    group: str = ""

    def param(self, name: str) -> str:
        """The parameter's values joined by commas ("" when absent)."""
        return ",".join(value for key, value in self.params if key == name)

    def encoding(self) -> str:
        bare = {value.upper() for key, value in self.params if not key}
        explicit = self.param("ENCODING").upper()
        for known in ("QUOTED-PRINTABLE", "BASE64", "B"):
            if known in bare or explicit == known:
                return known
        return explicit


@dataclass
class Card:
    line: int  # of BEGIN:VCARD
    properties: list[Property] = field(default_factory=list)

    def version(self) -> str:
        return next((prop.value.strip() for prop in self.properties if prop.name == "VERSION"), "")


@dataclass
class CardsFound:
    cards: list[Card] = field(default_factory=list)
    broken: list[BrokenCard] = field(default_factory=list)  # in the order of the file

    def detected(self) -> int:
        """Cards in the file, broken ones included."""
        return len(self.cards) + sum(fault.card_line is not None for fault in self.broken)


def read_cards(text: str) -> list[Card]:
    """Every BEGIN:VCARD … END:VCARD of ``text``; a card that cannot be read refuses the file."""
    found = scan_cards(text)
    if found.broken:
        raise found.broken[0]
    return found.cards


def scan_cards(text: str) -> CardsFound:
    """Every card of ``text`` that can be read, and the fault of each one that cannot: a line
    that is no property, a card left open (by the end of the file or the next BEGIN)."""
    found = CardsFound()
    current: Card | None = None
    fault: BrokenCard | None = None  # of the current card; the rest of it is passed over
    for line, logical in _logical_lines(text):
        try:
            prop = parse_property(logical, line)
        except BrokenCard as error:
            if current is None:
                found.broken.append(error)
            elif fault is None:
                fault = BrokenCard(line, error.reason, current.line)
            continue
        if prop.name == "BEGIN" and prop.value.strip().upper() == "VCARD":
            if current is not None:
                reason = f"a card begins inside the card of line {current.line}"
                found.broken.append(fault or BrokenCard(line, reason, current.line))
            current, fault = Card(line), None
        elif prop.name == "END" and prop.value.strip().upper() == "VCARD":
            if current is None:
                found.broken.append(BrokenCard(line, "END:VCARD without BEGIN:VCARD"))
            elif fault is not None:
                found.broken.append(fault)
            else:
                found.cards.append(current)
            current, fault = None, None
        elif current is not None and fault is None:
            current.properties.append(prop)
    if current is not None:
        reason = "the card has no END:VCARD"
        found.broken.append(fault or BrokenCard(current.line, reason, current.line))
    return found


def count_cards(text: str) -> int:
    return len(re.findall(r"^BEGIN:VCARD\s*$", text, re.IGNORECASE | re.MULTILINE))


def _logical_lines(text: str):
    """(line number, unfolded content line) for every non-blank content line."""
    start, parts, mode = 0, [], ""
    for number, raw in enumerate(text.splitlines(), 1):
        if parts and mode == "qp" and parts[-1].endswith("="):
            parts[-1] = parts[-1][:-1]
            parts.append(raw.lstrip(" \t"))
        elif parts and raw[:1] in (" ", "\t"):
            parts.append(raw.strip() if mode == "base64" else raw[1:])
        elif parts and mode == "base64" and _BASE64_LINE.match(raw.strip() or "-"):
            parts.append(raw.strip())
        else:
            if parts:
                yield start, "".join(parts)
            parts, mode = ([raw], _mode(raw)) if raw.strip() else ([], "")
            start = number
    if parts:
        yield start, "".join(parts)


def _mode(line: str) -> str:
    head = line.split(":", 1)[0].upper()
    if "QUOTED-PRINTABLE" in head:
        return "qp"
    if "BASE64" in head or re.search(r"ENCODING=B\b", head):
        return "base64"
    return ""


def parse_property(logical: str, line: int) -> Property:
    colon = _unquoted_index(logical, ":")
    if colon < 0:
        raise BrokenCard(line, f"not a vCard property (no colon): {logical[:60]!r}")
    head, value = logical[:colon], logical[colon + 1 :]
    name, *raw_params = _split_unquoted(head, ";")
    group, _, name = name.rpartition(".")
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise BrokenCard(line, f"invalid property name {name!r}")
    params = []
    for raw in raw_params:
        key, equals, values = raw.partition("=")
        if not equals:
            params.append(("", key.strip()))
            continue
        for one in _split_unquoted(values, ","):
            params.append((key.strip().upper(), one.strip().strip('"')))
    return Property(name.upper(), params, value, line, group)


def _unquoted_index(text: str, char: str) -> int:
    quoted = False
    for index, current in enumerate(text):
        if current == '"':
            quoted = not quoted
        elif current == char and not quoted:
            return index
    return -1


def _split_unquoted(text: str, separator: str) -> list[str]:
    parts, quoted, current = [], False, []
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
