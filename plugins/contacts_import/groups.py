"""The import group: every card of one import carries the category
``Import YYYY-MM-DD HH:MM:SS``, numbered `` (2)``, `` (3)``… when an earlier import into
the address book has that name already, so each import has a group of its own.

Apple, Google and Thunderbird show vCard CATEGORIES as groups, so one import
can be reviewed, and removed from the cards (or deleted with them) together.
Cards are edited at the content-line level, so nothing else in them changes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from datetime import datetime

from plugins.contacts_import.vcard_lines import Property, read_cards
from plugins.contacts_import.vcard_text import card_text
from plugins.contacts_import.vcards import content_line

GROUP_PREFIX = "Import "
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


def import_group(now: datetime, taken: Collection[str]) -> str:
    """The group of an import started at ``now``, none of ``taken`` (the address book's)."""
    name = f"{GROUP_PREFIX}{now:%Y-%m-%d %H:%M:%S}"
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name} ({number})"
    return candidate


def categories(text: str) -> list[str]:
    """The card's categories, unescaped."""
    found = []
    for card in read_cards(text):
        for prop in card.properties:
            if prop.name == "CATEGORIES":
                found += [_unescape(value) for value in _UNESCAPED_COMMA.split(prop.value)]
    return found


def import_groups(texts: list[str]) -> Counter[str]:
    """How many cards each import group holds."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({name for name in categories(text) if name.startswith(GROUP_PREFIX)})
    return counts


def without_group(text: str, group: str) -> str:
    """The card with ``group`` removed from its CATEGORIES (the property too, if emptied)."""
    card = read_cards(text)[0]
    lines = ["BEGIN:VCARD"]
    for prop in card.properties:
        if prop.name == "CATEGORIES":
            kept = [
                value for value in _UNESCAPED_COMMA.split(prop.value) if _unescape(value) != group
            ]
            if not kept:
                continue
            prop = Property(prop.name, prop.params, ",".join(kept), prop.line, prop.group)
        lines.append(content_line(prop))
    lines.append("END:VCARD")
    return card_text(lines)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda match: "\n" if match[1] in "nN" else match[1], value.strip())
