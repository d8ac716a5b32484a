"""The card a group becomes: the reference card with every other card's details added once.

Nothing a user typed is dropped:

* values that may repeat (EMAIL, TEL, ADR, ORG, NOTE, PHOTO, URL, …, and any
  X- property) are added when no card already has the same normalised value
  (emails and phone numbers as ``normalise`` compares them, photos byte for
  byte, text case- and space-insensitively); CATEGORIES are united;
* a property a card may hold only once (FN, N, BDAY, ANNIVERSARY, GENDER,
  KIND, SORT-STRING) keeps the reference's value; a different value of
  another card is kept beside it as ``X-MURMELI-ALSO-<NAME>`` (clients keep
  X- properties they do not know), or becomes the value when the reference
  has none;
* properties tied together by a group prefix (Apple's ``item1.EMAIL`` with
  ``item1.X-ABLabel``) travel together under a group name the reference does
  not use yet.

Only VERSION, UID, PRODID and REV of the other cards are not carried over:
they describe the other cards, not the person, and the undo record keeps those
cards whole. The reference is the most complete card (most properties), then
the most recently revised, then the largest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import vobject
from vobject.base import Component, ContentLine

from plugins.duplicates import normalise
from plugins.duplicates.matcher import Card

SINGLE_VALUED = frozenset({"FN", "N", "BDAY", "ANNIVERSARY", "GENDER", "KIND", "SORT-STRING"})
ABOUT_THE_CARD = frozenset({"VERSION", "UID", "PRODID", "REV"})
ALSO_PREFIX = "X-MURMELI-ALSO-"


def choose_reference(cards: Sequence[Card]) -> Card:
    return max(cards, key=lambda card: (card.completeness, card.revision, card.size, card.uid))


@dataclass(frozen=True)
class Merged:
    card: str  # the merged vCard text, as it would be stored
    identical: list[str]  # properties every card has, with the same values on each


def merge_group(
    reference: str, others: Sequence[str], region: str, compare: bool = True
) -> Merged:
    """The reference card's text with the details of ``others`` added as described above;
    without ``compare``, ``identical`` is left empty (a merge does not show it)."""
    merged, *parsed = (vobject.readOne(text) for text in (reference, *others))
    identical = _identical([merged, *parsed], region) if compare else []
    known = {_key(line, region) for line in merged.getChildren()}
    groups = {line.group.lower() for line in merged.getChildren() if line.group}
    for card in parsed:
        for unit in _units(card):
            if unit[0].group:
                _add_grouped(merged, unit, known, groups, region)
            else:
                _add_line(merged, unit[0], known, region)
    return Merged(merged.serialize(), identical)


def _identical(cards: list[Component], region: str) -> list[str]:
    per_card = []
    for card in cards:
        values: dict[str, set] = {}
        for line in card.getChildren():
            if line.name not in ABOUT_THE_CARD:
                values.setdefault(line.name, set()).add(_key(line, region))
        per_card.append(values)
    first, *rest = per_card
    return sorted(name for name, value in first.items() if all(c.get(name) == value for c in rest))


def _units(card: Component) -> list[list[ContentLine]]:
    """Each ungrouped line alone; the lines of one group prefix together."""
    units: list[list[ContentLine]] = []
    grouped: dict[str, list[ContentLine]] = {}
    for line in card.getChildren():
        if line.name in ABOUT_THE_CARD:
            continue
        if line.group:
            if line.group.lower() not in grouped:
                grouped[line.group.lower()] = []
                units.append(grouped[line.group.lower()])
            grouped[line.group.lower()].append(line)
        else:
            units.append([line])
    return units


def _add_line(merged: Component, line: ContentLine, known: set, region: str) -> None:
    if not _key(line, region)[1]:
        return  # an empty value (N:;;;;) holds nothing to keep
    if line.name == "CATEGORIES":
        _add_categories(merged, line.value)
    elif line.name in SINGLE_VALUED and line.name.lower() in merged.contents:
        value = line.value if isinstance(line.value, str) else _plain(line)
        also = ContentLine(ALSO_PREFIX + line.name, {}, value)
        if _key(line, region) not in known and _key(also, region) not in known:
            merged.add(also)
            known.add(_key(also, region))
    elif _key(line, region) not in known:
        merged.add(line.duplicate(line))
        known.add(_key(line, region))


def _add_grouped(
    merged: Component, unit: list[ContentLine], known: set, groups: set[str], region: str
) -> None:
    keys = [_key(line, region) for line in unit if not line.name.startswith("X-")]
    if all(key in known for key in keys or [_key(unit[0], region)]):
        return
    number = len(groups) + 1
    while f"item{number}" in groups:
        number += 1
    groups.add(f"item{number}")
    for line in unit:
        copy = line.duplicate(line)
        copy.group = f"item{number}"
        merged.add(copy)
        known.add(_key(line, region))


def _add_categories(merged: Component, values: list[str]) -> None:
    if "categories" not in merged.contents:
        merged.add("categories").value = list(values)
        return
    existing = merged.contents["categories"][0]
    present = {normalise.text(value) for value in existing.value}
    existing.value = existing.value + [v for v in values if normalise.text(v) not in present]


def _plain(line: ContentLine) -> str:
    """A value as text, structured ones (N, ADR) in their vCard form: for X-MURMELI-ALSO-*."""
    return line.serialize().partition(":")[2].replace("\r\n ", "").rstrip("\r\n")


def _key(line: ContentLine, region: str) -> tuple[str, str]:
    """What two lines must share to be the same detail."""
    value = line.value
    if line.name == "EMAIL":
        return line.name, normalise.email(value) or value
    if line.name == "TEL":
        return line.name, normalise.phone(value, region)
    if isinstance(value, bytes):
        return line.name, hashlib.sha256(value).hexdigest()
    if line.name == "FN":  # the same words in another order: "Dupont Jean", "Jean Dupont"
        return line.name, " ".join(sorted(normalise.text(value).split()))
    if isinstance(value, str):
        return line.name, " ".join(value.split()).casefold()
    return line.name, normalise.text(" ".join(_parts(value)))


def _parts(value: object) -> list[str]:
    """The text parts of a structured value: a list (ORG, CATEGORIES), a Name or an Address."""
    fields = value if isinstance(value, list) else vars(value).values()
    return [
        str(part) for field in fields for part in (field if isinstance(field, list) else [field])
    ]
