"""Groups of cards that describe the same person, found without comparing every pair.

Evidence links two cards; a group is what the links connect (union-find):

* the same normalised email address, or the same phone number in E.164 form;
* the same name (as a set of words, see ``normalise``) *and* a shared
  organisation or birthday.

A name alone is never evidence: two "Jean Martin" with nothing else in
common stay apart. Every link is also refused when it would put a
contradiction into a group: names that do not agree (a household address
shared by "Jane Smith" and "John Smith") or different birthdays; a name link
is further refused by different email addresses, phone numbers or
organisations on the two sides, which prove two people with one name.
A card that would fit two people who contradict each other (only "Lara
Schmid, Brunner GmbH", beside two different Lara Schmids there) is ambiguous
and joins neither; and a key shared by more than ``MAX_BUCKET`` cards (a
switchboard number) is not evidence at all.

Cards are indexed by email, phone and name key in dict buckets, and only the
cards of one bucket are tried against each other, so the work grows with the
number of cards, not their square. The checks are made between whole groups
(their pooled details), so a chain of links cannot join two cards that
contradict each other.

A group's id is a digest of its sorted UIDs: the same cards give the same id
in every run, so a group can be merged or hidden by id later; a group that
gains or loses a card is a new group.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from plugins.duplicates.normalise import Birthday, birthdays_agree, names_agree

# More cards than this sharing one key (a company switchboard, a team address)
# is not evidence of one person: such a bucket is skipped, which also bounds
# the comparisons made inside a bucket.
MAX_BUCKET = 64


@dataclass(frozen=True)
class Card:
    """The details of one stored card that matching and choosing a reference need."""

    uid: str
    href: str
    name: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()
    birthday: Birthday | None = None
    revision: str = ""
    completeness: int = 0
    size: int = 0


@dataclass(frozen=True)
class Group:
    id: str
    cards: tuple[Card, ...]  # sorted by UID

    @property
    def uids(self) -> list[str]:
        return [card.uid for card in self.cards]


def group_id(uids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(uids)).encode()).hexdigest()[:16]


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector re-scans every live object at each full collection, and
    the many small sets made for 20,000 cards set off several: matching took 2.5 times
    as long as for 10,000 with it running. Nothing made here forms a cycle."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def find_groups(cards: Sequence[Card]) -> list[Group]:
    """Every group of two or more cards, ordered by id."""
    with cycle_collector_paused():
        return _find_groups(cards)


def _find_groups(cards: Sequence[Card]) -> list[Group]:
    ordered = sorted(cards, key=lambda card: (card.uid, card.href))
    groups = _Groups(ordered)
    for bucket in _buckets(ordered, _contact_keys):
        groups.join_bucket(bucket, _Pool.identity_agrees)
    for bucket in _buckets(ordered, _name_keys):
        groups.join_bucket(bucket, _Pool.details_agree)
    return sorted(
        (
            Group(group_id(card.uid for card in members), tuple(members))
            for members in groups.sets()
        ),
        key=lambda group: group.id,
    )


def _contact_keys(card: Card) -> Iterable[tuple]:
    yield from (("email", email) for email in card.emails)
    yield from (("phone", phone) for phone in card.phones)


def _name_keys(card: Card) -> Iterable[tuple]:
    if not card.name:
        return
    yield from (("organisation", card.name, organisation) for organisation in card.organisations)
    if card.birthday is not None:
        yield ("birthday", card.name, card.birthday[1:])


def _buckets(cards: Sequence[Card], keys: Callable[[Card], Iterable[tuple]]) -> list[list[int]]:
    found: dict[tuple, list[int]] = defaultdict(list)
    for index, card in enumerate(cards):
        for key in keys(card):
            found[key].append(index)
    return [members for members in found.values() if 1 < len(members) <= MAX_BUCKET]


@dataclass
class _Pool:
    """The pooled details of one group under construction."""

    names: set[frozenset[str]] = field(default_factory=set)
    birthdays: set[Birthday] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    organisations: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, card: Card) -> _Pool:
        return cls(
            {card.name} if card.name else set(),
            {card.birthday} if card.birthday else set(),
            set(card.emails),
            set(card.phones),
            set(card.organisations),
        )

    def absorb(self, other: _Pool) -> None:
        self.names |= other.names
        self.birthdays |= other.birthdays
        self.emails |= other.emails
        self.phones |= other.phones
        self.organisations |= other.organisations

    def identity_agrees(self, other: _Pool) -> bool:
        """No two names that cannot be one person's, no two different birthdays."""
        return all(names_agree(a, b) for a in self.names for b in other.names) and all(
            birthdays_agree(a, b) for a in self.birthdays for b in other.birthdays
        )

    def details_agree(self, other: _Pool) -> bool:
        """As ``identity_agrees``, and no emails, phones or organisations that all differ."""
        return (
            self.identity_agrees(other)
            and _overlap_or_missing(self.emails, other.emails)
            and _overlap_or_missing(self.phones, other.phones)
            and _overlap_or_missing(self.organisations, other.organisations)
        )


def _overlap_or_missing(first: set[str], second: set[str]) -> bool:
    return not first or not second or not first.isdisjoint(second)


class _Groups:
    """Union-find over card indexes, each root carrying its group's pooled details."""

    def __init__(self, cards: Sequence[Card]) -> None:
        self._cards = cards
        self._parent = list(range(len(cards)))
        self._size = [1] * len(cards)
        self._pools: dict[int, _Pool] = {}

    def find(self, index: int) -> int:
        root = index
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[index] != root:
            self._parent[index], index = root, self._parent[index]
        return root

    def pool(self, root: int) -> _Pool:
        if root not in self._pools:
            self._pools[root] = _Pool.of(self._cards[root])
        return self._pools[root]

    def join_bucket(self, members: list[int], agree: Callable[[_Pool, _Pool], bool]) -> None:
        """Join each unambiguous member to the first group of the bucket it agrees with."""
        roots: list[int] = []  # the bucket's distinct groups so far, by their current root
        for member in self._unambiguous(members, agree):
            root = self.find(member)
            if root in roots:
                continue
            for position, other in enumerate(roots):
                if agree(self.pool(other), self.pool(root)):
                    roots[position] = self._union(other, root)
                    break
            else:
                roots.append(root)

    def _unambiguous(self, members: list[int], agree: Callable[[_Pool, _Pool], bool]) -> list[int]:
        """Leave out a card that agrees with two cards of the bucket that disagree.

        A card with only "Lara Schmid, Brunner GmbH" beside two different Lara
        Schmids of that company could be either: it joins neither.
        """
        pools = [_Pool.of(self._cards[member]) for member in members]
        agreeing = [
            [other for other in pools if other is not pool and agree(pool, other)] for pool in pools
        ]
        return [
            member
            for member, friends in zip(members, agreeing, strict=True)
            if all(agree(a, b) for a, b in itertools.combinations(friends, 2))
        ]

    def _union(self, first: int, second: int) -> int:
        if self._size[first] < self._size[second]:
            first, second = second, first
        self._parent[second] = first
        self._size[first] += self._size[second]
        self.pool(first).absorb(self.pool(second))
        self._pools.pop(second, None)
        return first

    def sets(self) -> list[list[Card]]:
        members: dict[int, list[Card]] = defaultdict(list)
        for index, card in enumerate(self._cards):
            members[self.find(index)].append(card)
        return [cards for cards in members.values() if len(cards) > 1]
