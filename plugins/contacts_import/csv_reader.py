"""CSV exports as contacts: the table read (separator, header, first line), then each row
turned into a ``Contact`` by the column mapping.

Every row remembers its line in the file, so problems can point at it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from plugins.contacts_import.contact import Address, Contact, Typed
from plugins.contacts_import.csv_formats import ADDRESS_FIELDS, NAME_FIELDS, Mapping, Rule
from plugins.contacts_import.errors import ImportRefused
from plugins.contacts_import.validate import Problem

SEPARATORS = ",;\t|"
_SNIFF_LINES = 20
_LIST_SEPARATOR = re.compile(r"\s*(?:;|,)\s*")
_GOOGLE_SYSTEM_LABEL = re.compile(r"^\*\s|^myContacts$|^starred$", re.IGNORECASE)
_LABEL_TYPES = {
    "home": "home",
    "work": "work",
    "mobile": "cell",
    "cell": "cell",
    "home fax": "home,fax",
    "work fax": "work,fax",
    "fax": "fax",
    "pager": "pager",
    "main": "main",
}


@dataclass(frozen=True)
class CsvOptions:
    separator: str | None = None  # None: detected
    header: bool = True
    start_line: int = 1  # the table (its header, if any) starts on this line of the file
    mapping: str | None = None  # user overrides, "Nom=family,Prénom=given"


@dataclass
class Table:
    separator: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line in the file, cells)


@dataclass
class RowsRead:
    contacts: list[Contact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_table(text: str, options: CsvOptions) -> Table:
    if options.start_line < 1:
        raise ImportRefused("start line must be 1 or more")
    lines = text.splitlines(keepends=True)
    skipped = options.start_line - 1
    body = "".join(lines[skipped:])
    if not body.strip():
        raise ImportRefused(f"no CSV data from line {options.start_line} on")
    separator = options.separator or detect_separator(body)
    if len(separator) != 1:
        raise ImportRefused(f"separator must be one character, not {separator!r}")
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=separator)
    records: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for cells in reader:
            records.append((skipped + last + 1, cells))
            last = reader.line_num
    except csv.Error as error:
        raise ImportRefused(f"line {skipped + last + 1}: unreadable CSV: {error}") from None
    if options.header:
        _, first = records.pop(0)
        headers = [cell.strip() for cell in first]
    else:
        width = max(len(cells) for _, cells in records)
        headers = [str(number) for number in range(1, width + 1)]
    rows = [(line, cells) for line, cells in records if any(cell.strip() for cell in cells)]
    return Table(separator, headers, rows)


def detect_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:_SNIFF_LINES])
    try:
        return csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(SEPARATORS, key=first.count)


def read_rows(
    table: Table,
    mapping: Mapping,
    progress: Callable[[int], None] | None = None,
) -> RowsRead:
    """Contacts of the table's rows, with the problems of values that could not be read."""
    result = RowsRead()
    for done, (line, cells) in enumerate(table.rows, 1):
        contact, problems = contact_from_row(line, cells, mapping)
        result.contacts.append(contact)
        result.problems += problems
        if progress and done % 500 == 0:
            progress(done)
    return result


def contact_from_row(
    line: int, cells: list[str], mapping: Mapping
) -> tuple[Contact, list[Problem]]:
    contact = Contact(line)
    row = _Row(contact, mapping)
    for rule in mapping.rules:
        if rule.field == "ignore" or rule.column >= len(cells):
            continue
        value = cells[rule.column].strip()
        if value:
            row.take(rule, value)
    return contact, row.finish()


class _Row:
    """Collects one row's values, then settles what depends on several columns (labels,
    address parts, birthdays split in three)."""

    def __init__(self, contact: Contact, mapping: Mapping) -> None:
        self.contact = contact
        self.mapping = mapping
        self.labels: dict[str, str] = {}
        self.slotted: list[tuple[str, Typed]] = []
        self.addresses: dict[str, Address] = {}
        self.birth: dict[str, str] = {}
        self.problems: list[Problem] = []

    def values(self, value: str) -> list[str]:
        separator = self.mapping.multi_value_separator
        if separator and separator in value:
            return [part.strip() for part in value.split(separator) if part.strip()]
        return [value]

    def take(self, rule: Rule, value: str) -> None:
        contact, name = self.contact, rule.field
        if name in NAME_FIELDS:
            setattr(contact, name, " ".join(filter(None, [getattr(contact, name), value])))
        elif name in ("email", "tel"):
            for one in self.values(value):
                typed = Typed(one, rule.type)
                (contact.emails if name == "email" else contact.tels).append(typed)
                self.slotted.append((rule.slot, typed))
        elif name == "label":
            self.labels[rule.slot] = value
        elif name in ADDRESS_FIELDS:
            address = self.addresses.setdefault(rule.slot, Address(type=rule.type))
            joined = "\n".join(filter(None, [getattr(address, name), value]))
            setattr(address, name, joined)
        elif name in ("org", "department", "title"):
            setattr(contact, name, " ".join(filter(None, [getattr(contact, name), value])))
        elif name == "note":
            contact.note = "\n".join(filter(None, [contact.note, value]))
        elif name == "url":
            contact.urls += self.values(value)
        elif name == "categories":
            contact.categories += self.categories(value)
        elif name == "bday":
            self.birthday(value)
        else:
            self.birth[name] = value

    def categories(self, value: str) -> list[str]:
        parts = self.values(value) if self.mapping.multi_value_separator else None
        parts = parts or _LIST_SEPARATOR.split(value)
        return [part for part in parts if part and not _GOOGLE_SYSTEM_LABEL.search(part)]

    def birthday(self, value: str) -> None:
        if not value.strip("0/.- "):
            return  # Outlook writes "0/0/00" for no birthday
        parsed = parse_date(value, self.mapping.day_first)
        if parsed is None:
            self.problems.append(
                Problem(self.contact.line, f"birthday {value!r} not understood, dropped")
            )
        else:
            self.contact.bday = parsed

    def finish(self) -> list[Problem]:
        for slot, typed in self.slotted:
            if slot in self.labels:
                typed.type = _label_type(self.labels[slot]) or typed.type
        for slot, address in self.addresses.items():
            if slot in self.labels:
                address.type = _label_type(self.labels[slot]) or address.type
            self.contact.addresses.append(address)
        if self.birth:
            year = self.birth.get("birth-year", "")
            month, day = self.birth.get("birth-month", ""), self.birth.get("birth-day", "")
            if month and day:
                self.birthday(f"{year or '-'}-{month.zfill(2)}-{day.zfill(2)}".lstrip("-"))
        return self.problems


def _label_type(label: str) -> str:
    return _LABEL_TYPES.get(label.lstrip("* ").strip().lower(), "")


_ISO = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_NO_YEAR = re.compile(r"^-{1,2}(\d{2})-?(\d{2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{2}|\d{4})$")


def parse_date(value: str, day_first: bool) -> str | None:
    """A birthday as ``YYYY-MM-DD`` (``--MM-DD`` without a year), or None when not a date.

    ``05/06/1980`` is June 5th when ``day_first`` (Europe), May 6th otherwise
    (Outlook's US export); a part above 12 settles it either way.
    """
    value = value.strip()
    if match := _ISO.match(value):
        year, month, day = (int(part) for part in match.groups())
    elif match := _NO_YEAR.match(value):
        year, month, day = 0, int(match[1]), int(match[2])
    elif match := _NUMERIC.match(value):
        first, second, year = (int(part) for part in match.groups())
        if year < 100:
            year += 1900 if year > 30 else 2000
        if first > 12 or (day_first and second <= 12):
            day, month = first, second
        else:
            month, day = first, second
    else:
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31) or (year and year < 1000):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"
