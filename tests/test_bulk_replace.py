"""``Collections.replace``: many cards replaced, added and removed at once, as Radicale
itself would have stored them (read back, item cache, sync-collection)."""

from __future__ import annotations

import pytest
from radicale import storage

from davserver.bulk_insert import NewItem
from davserver.collections import CollectionChanged
from davserver.services import Services


def card(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


@pytest.fixture
def services(local_services) -> Services:
    built = local_services
    built.collections.provide("/ann/", {})
    built.collections.create_addressbook("/ann/book/", "Book")
    cards = [NewItem(f"c{i}.vcf", f"c{i}", card(f"c{i}", f"Person {i}")) for i in range(20)]
    built.collections.insert("/ann/book/", cards)
    return built


def test_replaced_added_and_removed_cards_read_back_and_sync(services):
    collections = services.collections
    store = storage.load(services.radicale_configuration)
    with store.acquire_lock("r"):
        token, _ = next(iter(store.discover("/ann/book/"))).sync()
    before = collections.items("/ann/book/")
    collections.replace(
        "/ann/book/",
        put=[
            NewItem("c1.vcf", "c1", card("c1", "Ada King")),
            NewItem("n.vcf", "n", card("n", "New")),
        ],
        delete=["c2.vcf", "c3.vcf"],
        expect={"c1.vcf": before["c1.vcf"], "c2.vcf": before["c2.vcf"], "n.vcf": None},
    )
    items = collections.items("/ann/book/")
    assert len(items) == 19
    assert items["c1.vcf"] == card("c1", "Ada King")
    assert items["n.vcf"] == card("n", "New")
    assert "c2.vcf" not in items and "c3.vcf" not in items
    assert collections.uids("/ann/book/") == {"n", *(f"c{i}" for i in range(20))} - {"c2", "c3"}
    with store.acquire_lock("r"):
        collection = next(iter(store.discover("/ann/book/")))
        _, changed = collection.sync(token)
        # Radicale's item cache answers with the new card, not the old one
        assert next(iter(collection.get_multi(["c1.vcf"])))[1].serialize() == items["c1.vcf"]
    assert sorted(changed) == ["c1.vcf", "c2.vcf", "c3.vcf", "n.vcf"]
    folder = collections.folder("/ann/book/")
    assert not [path for path in folder.rglob(".Radicale.tmp-*")]  # no staging left behind


def test_a_card_changed_meanwhile_refuses_the_whole_batch(services):
    collections = services.collections
    before = collections.items("/ann/book/")
    collections.write("/ann/book/", {"c1.vcf": card("c1", "Edited")})
    with pytest.raises(CollectionChanged, match=r"c1\.vcf changed meanwhile"):
        collections.replace(
            "/ann/book/",
            put=[NewItem("c0.vcf", "c0", card("c0", "Merged"))],
            delete=["c1.vcf"],
            expect={"c0.vcf": before["c0.vcf"], "c1.vcf": before["c1.vcf"]},
        )
    after = collections.items("/ann/book/")
    assert after["c0.vcf"] == before["c0.vcf"] and "FN:Edited" in after["c1.vcf"]
