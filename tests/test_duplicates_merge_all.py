"""Merge-all on the engine over a real address book: written a batch at a time, each batch
under its own hold of the write lock; a group changed meanwhile is left out, not
overwritten; the undo record is committed before the first card changes."""

from __future__ import annotations

import pytest

from davserver.bulk_insert import NewItem
from davserver.collections import CollectionChanged, Collections
from davserver.services import Services
from plugins.duplicates.duplicates import Duplicates
from plugins.duplicates.store import DuplicateStore

BOOK = "/ann/book/"


def card(uid: str, name: str, email: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nEMAIL:{email}\r\nEND:VCARD\r\n"


class EditedMeanwhile:
    """The real collections, where a client edits ``href`` just before the first batch
    is written; counts the batches."""

    def __init__(self, collections: Collections, href: str) -> None:
        self._collections = collections
        self._href = href
        self.batches = 0

    def __getattr__(self, name: str):
        return getattr(self._collections, name)

    def replace(self, path: str, **batch) -> None:
        if self.batches == 0 and self._href:
            self._collections.write(path, {self._href: card("x", "Edited", "x@example.org")})
        self.batches += 1
        self._collections.replace(path, **batch)


@pytest.fixture
def services(local_services) -> Services:
    built = local_services
    built.collections.provide("/ann/", {})
    built.collections.create_addressbook(BOOK, "Book")
    cards = []
    for number in range(6):  # six groups: two cards with one email each
        email = f"p{number}@example.org"
        cards.append(NewItem(f"a{number}.vcf", f"a{number}", card(f"a{number}", "Ann Lee", email)))
        cards.append(
            NewItem(f"b{number}.vcf", f"b{number}", card(f"b{number}", "Annie Lee", email))
        )
    built.collections.insert(BOOK, cards)
    return built


def finder(services: Services, collections) -> Duplicates:
    return Duplicates(collections, DuplicateStore(services.database), "CH", batch=4)


def test_merge_all_writes_in_batches_and_leaves_out_a_group_changed_meanwhile(services):
    before = services.collections.items(BOOK)
    collections = EditedMeanwhile(services.collections, "b5.vcf")
    duplicates = finder(services, collections)

    record = duplicates.merge_all("ann", BOOK)

    assert collections.batches == 3 + 2  # 2 groups a batch; the last one again group by group
    assert record.finished
    assert sorted(record.before) == sorted(f"{x}{n}.vcf" for x in "ab" for n in range(5))
    after = services.collections.items(BOOK)
    assert len(after) == 12 - 5
    assert after["a5.vcf"] == before["a5.vcf"] and "FN:Edited" in after["b5.vcf"]

    duplicates.undo("ann", record.id)
    restored = services.collections.items(BOOK)
    assert restored == {**before, "b5.vcf": after["b5.vcf"]}
    assert duplicates.merges("ann") == []


def test_a_single_merge_whose_card_changed_writes_nothing_and_keeps_no_record(services):
    before = services.collections.items(BOOK)
    duplicates = finder(services, EditedMeanwhile(services.collections, "b0.vcf"))
    group = next(p.group for p in duplicates.proposals(BOOK) if "b0" in p.group.uids)

    with pytest.raises(CollectionChanged, match="changed meanwhile"):
        duplicates.merge("ann", BOOK, group.id)

    after = services.collections.items(BOOK)
    assert "FN:Edited" in after.pop("b0.vcf")
    assert after == {href: text for href, text in before.items() if href != "b0.vcf"}
    assert duplicates.merges("ann") == []


def test_the_undo_record_is_committed_before_the_first_card_changes(services):
    store = DuplicateStore(services.database)
    seen = []

    class Watching(EditedMeanwhile):
        def replace(self, path: str, **batch) -> None:
            seen.append([(r.finished, sorted(r.before)) for r in store.merges("ann")])
            super().replace(path, **batch)

    finder(services, Watching(services.collections, "")).merge_all("ann", BOOK)
    assert len(seen) == 3
    everything = sorted(f"{x}{n}.vcf" for x in "ab" for n in range(6))
    assert all(records == [(False, everything)] for records in seen)
    assert [(r.finished, len(r.before)) for r in store.merges("ann")] == [(True, 12)]
