"""Which two given names can be one person's: a name and its nicknames or diminutives.

"Ann" and "Annie", "Bob" and "Robert", "Liz" and "Elizabeth" are written for
one person; with a shared email address or phone number they make a likely
duplicate. The pairs come from the ``nicknames`` package (Carlton Northern and
Nick Crews, Apache-2.0: a hand-curated list of English given names and their
nicknames), plus the few German ones below that it lacks.

Only direct pairs count, in either direction: two names that are both
nicknames of a third ("Chris" of "Christian" and of "Christina") are not
related, as two members of one household often are named so.
"""

from __future__ import annotations

from collections import defaultdict

from nicknames import name_triplets

NICKNAME = "has_nickname"  # the package's other relation, translation (Roberto), is not used

# Full form -> diminutives of names common where Murmeli started, missing from
# the English list.
_GERMAN = {
    "johannes": ("hans", "johann"),
    "joseph": ("sepp", "josef"),
    "friedrich": ("fritz",),
}


def _related() -> dict[str, frozenset[str]]:
    pairs = [(row.name1, row.name2) for row in name_triplets() if row.relationship == NICKNAME]
    pairs += [(full, nick) for full, nicks in _GERMAN.items() for nick in nicks]
    related: dict[str, set[str]] = defaultdict(set)
    for full, nick in pairs:
        related[full].add(nick)
        related[nick].add(full)
    return {name: frozenset(names) for name, names in related.items()}


_RELATED = _related()


def related(first: str, second: str) -> bool:
    """True when one folded, lower-case name is a nickname of the other."""
    return second in _RELATED.get(first, ())
