"""What the matcher needs of a stored vCard, read straight from its text.

The matcher looks at a handful of properties (UID, FN, N, EMAIL, TEL, ORG,
BDAY, REV) of every card in the address book; parsing 20,000 cards with
``vobject`` alone takes about 3 s, over the whole detection budget, so this
reader unfolds the lines and picks those properties itself (RFC 6350 §3.2
folding, §3.4 escaping; vCard 3.0 and 4.0 as CardDAV stores them). Building
the merged card, which touches only the cards of a group, uses ``vobject``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from plugins.content_lines import split_parameters
from plugins.duplicates import normalise
from plugins.duplicates.matcher import Card, cycle_collector_paused

_FOLD = re.compile(r"\r?\n[ \t]")
_COMPONENT = re.compile(r"(?<!\\);")
_ESCAPE = re.compile(r"\\(.)")
_NOT_COUNTED = frozenset({"BEGIN", "END", "VERSION", "PRODID", "UID", "REV"})


def read_cards(items: Mapping[str, str], region: str) -> list[Card]:
    """The matcher's view of every card of an address book (href -> text)."""
    with cycle_collector_paused():
        return [read_card(href, text, region) for href, text in items.items()]


def read_card(href: str, text: str, region: str) -> Card:
    """The matcher's view of one card; the UID falls back to the href when missing."""
    values: dict[str, list[str]] = {}
    for name, value in content_lines(text):
        values.setdefault(name, []).append(value)
    return Card(
        uid=(values.get("UID") or [href])[0].strip() or href,
        href=href,
        name=_name(values),
        emails=frozenset(filter(None, (normalise.email(v) for v in values.get("EMAIL", ())))),
        phones=frozenset(filter(None, (_phone(v, region) for v in values.get("TEL", ())))),
        organisations=frozenset(filter(None, (_organisation(v) for v in values.get("ORG", ())))),
        birthday=next(filter(None, map(normalise.birthday, values.get("BDAY", ()))), None),
        revision=re.sub(r"\D", "", (values.get("REV") or [""])[0]),
        completeness=sum(len(v) for k, v in values.items() if k not in _NOT_COUNTED),
        size=len(text),
    )


def content_lines(text: str) -> Iterator[tuple[str, str]]:
    """(upper-case property name without its group, raw value) of every unfolded line."""
    for line in _FOLD.sub("", text).splitlines():
        if ":" in line:
            name, _, value = split_parameters(line)
            yield name.rpartition(".")[2], value


def unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m[1] in "nN" else m[1], value)


def components(value: str) -> list[str]:
    """The ``;``-separated parts of a structured value (N, ORG, ADR), unescaped."""
    return [unescape(part) for part in _COMPONENT.split(value)]


def _name(values: dict[str, list[str]]) -> frozenset[str]:
    """Family, given and additional names of N (not titles), else FN; none for an address."""
    structured = components(values["N"][0])[:3] if "N" in values else []
    name = " ".join(structured).strip() or unescape((values.get("FN") or [""])[0])
    if "@" in name or not any(char.isalpha() for char in name):
        return frozenset()
    return normalise.name_tokens(name)


def _phone(value: str, region: str) -> str:
    return normalise.phone(unescape(value), region)


def _organisation(value: str) -> str:
    return normalise.text(components(value)[0])
