"""Writing items into a collection from outside a request: all or nothing."""

from __future__ import annotations

import os

import pytest
import vobject
from radicale import item as radicale_item
from radicale import storage

from davserver import bulk_insert
from davserver.accounts.directory import AccountError
from davserver.bulk_insert import STAGING_PREFIX, NewItem
from davserver.collections import CollectionChanged
from davserver.services import Services

STAGED = STAGING_PREFIX + "crashed"


def card(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


@pytest.fixture
def services(local_services) -> Services:
    built = local_services
    store = storage.load(built.radicale_configuration)
    with store.acquire_lock("w"):
        store.create_collection("/ann/")
        store.create_collection("/ann/book/", props={"tag": "VADDRESSBOOK"})
    return built


def test_write_then_read_back_and_delete(services):
    collections = services.collections
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada"), "b.vcf": card("b", "Bea")})
    items = collections.items("/ann/book/")
    assert sorted(items) == ["a.vcf", "b.vcf"]
    assert "FN:Ada" in items["a.vcf"]

    collections.write("/ann/book/", {"a.vcf": card("a", "Ada King")}, delete=["b.vcf"])
    items = collections.items("/ann/book/")
    assert sorted(items) == ["a.vcf"]
    assert "FN:Ada King" in items["a.vcf"]


def test_a_bad_item_writes_nothing(services):
    collections = services.collections
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    with pytest.raises(vobject.base.ParseError, match="nonsense"):
        collections.write(
            "/ann/book/",
            {"new.vcf": card("n", "New"), "bad.vcf": "BEGIN:VCARD\r\nnonsense"},
            delete=["a.vcf"],
        )
    assert sorted(collections.items("/ann/book/")) == ["a.vcf"]


def test_unknown_collection_is_refused(services):
    with pytest.raises(AccountError, match="no calendar or address book"):
        services.collections.write("/ann/nothing/", {"a.vcf": card("a", "Ada")})


def test_write_with_expect_refuses_when_an_item_changed_meanwhile(services):
    collections = services.collections
    stored = collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    read = collections.items("/ann/book/")
    assert stored == read
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada King")})
    with pytest.raises(CollectionChanged, match=r"a\.vcf changed meanwhile"):
        collections.write("/ann/book/", {"b.vcf": card("b", "Bea")}, ["a.vcf"], expect=read)
    with pytest.raises(CollectionChanged):
        collections.write("/ann/book/", {"b.vcf": card("b", "Bea")}, expect={"a.vcf": None})
    assert sorted(collections.items("/ann/book/")) == ["a.vcf"]
    collections.write("/ann/book/", {"b.vcf": card("b", "Bea")}, expect={"b.vcf": None})
    assert sorted(collections.items("/ann/book/")) == ["a.vcf", "b.vcf"]


def test_insert_adds_many_cards_that_read_back_and_sync(services):
    collections = services.collections
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    store = storage.load(services.radicale_configuration)
    with store.acquire_lock("r"):
        token, _ = next(iter(store.discover("/ann/book/"))).sync()
    new = [NewItem(f"n{i}.vcf", f"n{i}", card(f"n{i}", f"Person {i}")) for i in range(50)]
    collections.insert("/ann/book/", new)
    items = collections.items("/ann/book/")
    assert len(items) == 51
    assert "FN:Person 7" in items["n7.vcf"]
    assert collections.uids("/ann/book/") == {"a", *(f"n{i}" for i in range(50))}
    with store.acquire_lock("r"):
        _, changed = next(iter(store.discover("/ann/book/"))).sync(token)
    assert sorted(changed) == sorted(item.href for item in new)


def test_insert_refuses_a_uid_already_there_and_writes_nothing(services):
    collections = services.collections
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    clash = [NewItem("x.vcf", "x", card("x", "X")), NewItem("other.vcf", "a", card("a", "Ada"))]
    with pytest.raises(AccountError, match="UID a is already"):
        collections.insert("/ann/book/", clash)
    assert sorted(collections.items("/ann/book/")) == ["a.vcf"]


def test_insert_failing_half_way_leaves_the_book_as_it_was(services, monkeypatch):
    collections = services.collections
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    renames = []
    real_rename = os.rename

    def failing_rename(source, target):
        renames.append(target)
        if len(renames) == 5:
            raise OSError("disk full")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", failing_rename)
    new = [NewItem(f"n{i}.vcf", f"n{i}", card(f"n{i}", f"Person {i}")) for i in range(10)]
    with pytest.raises(OSError, match="disk full"):
        collections.insert("/ann/book/", new)
    monkeypatch.undo()
    assert sorted(collections.items("/ann/book/")) == ["a.vcf"]
    assert not [name for name in os.listdir(collections.folder("/ann/book/")) if "tmp" in name]


def test_create_addressbook_and_insert_into_a_new_one(services):
    collections = services.collections
    collections.create_addressbook("/ann/friends/", "Friends")
    assert collections.kind("/ann/friends/") == "addressbook"
    with pytest.raises(AccountError, match="already exists"):
        collections.create_addressbook("/ann/friends/", "Friends")
    collections.insert("/ann/imported/", [NewItem("a.vcf", "a", card("a", "Ada"))], "Imported")
    assert sorted(collections.items("/ann/imported/")) == ["a.vcf"]
    with pytest.raises(AccountError, match="UID a is already"):
        collections.insert(
            "/ann/failed/",
            [NewItem("a.vcf", "a", card("a", "A")), NewItem("b.vcf", "a", card("a", "A"))],
            "Failed",
        )
    assert collections.kind("/ann/failed/") is None


def test_insert_removes_what_a_crashed_insert_left_behind(services):
    collections = services.collections
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    folder = collections.folder("/ann/book/")
    left = [folder / STAGED, folder / ".Radicale.cache" / "history" / STAGED]
    left.append(folder.parent / STAGED / "collection")  # a new address book, never placed
    for staged in left:
        staged.mkdir(parents=True)
        (staged / "b.vcf").write_bytes(b"")  # cut short: empty
    collections.insert("/ann/book/", [NewItem("c.vcf", "c", card("c", "Cid"))])
    collections.insert("/ann/new/", [NewItem("d.vcf", "d", card("d", "Dan"))], "New")
    assert [path for path in left if path.exists()] == []
    assert sorted(collections.items("/ann/book/")) == ["a.vcf", "c.vcf"]
    assert sorted(collections.items("/ann/new/")) == ["d.vcf"]


def test_a_new_address_book_failing_half_way_leaves_nothing(services, monkeypatch):
    collections = services.collections
    written = []
    real_create = bulk_insert._create

    def failing_create(path: str, content: bytes) -> None:
        written.append(path)
        if len(written) == 30:
            raise OSError("disk full")
        real_create(path, content)

    monkeypatch.setattr(bulk_insert, "_create", failing_create)
    new = [NewItem(f"n{i}.vcf", f"n{i}", card(f"n{i}", f"Person {i}")) for i in range(20)]
    with pytest.raises(OSError, match="disk full"):
        collections.insert("/ann/half/", new, "Half")
    assert collections.kind("/ann/half/") is None
    assert sorted(os.listdir(collections.folder("/ann/"))) == ["book"]


def test_provide_creates_once_and_schedule_mailboxes_are_not_calendars(services):
    collections = services.collections
    props = {"tag": "VCALENDAR", "C:supported-calendar-component-set": "VEVENT"}
    assert collections.provide("/ann/work/", props) is True
    assert collections.provide("/ann/work/", props) is False
    assert collections.provide("/ann/schedule-inbox/", props) is True
    assert collections.kind("/ann/schedule-inbox/") == "calendar"
    assert collections.calendars_of("ann") == ["/ann/work/"]


def test_write_many_stores_into_several_collections_and_syncs(services):
    collections = services.collections
    collections.provide("/bob/", {})
    collections.provide("/bob/book/", {"tag": "VADDRESSBOOK"})
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    store = storage.load(services.radicale_configuration)
    with store.acquire_lock("r"):
        token, _ = next(iter(store.discover("/bob/book/"))).sync()
    same = card("s", "Sam")
    collections.write_many({"/ann/book/": {"s.vcf": same}, "/bob/book/": {"s.vcf": same}})
    assert sorted(collections.items("/ann/book/")) == ["a.vcf", "s.vcf"]
    assert "FN:Sam" in collections.items("/bob/book/")["s.vcf"]
    with store.acquire_lock("r"):
        bob = next(iter(store.discover("/bob/book/")))
        _, changed = bob.sync(token)
        (item,) = bob.get_all()
    assert changed == ["s.vcf"]
    assert item.uid == "s" and item.etag == radicale_item.get_etag(item.serialize())


def test_write_many_failing_half_way_puts_every_collection_back(services):
    collections = services.collections
    collections.provide("/bob/", {})
    collections.provide("/bob/book/", {"tag": "VADDRESSBOOK"})
    collections.write("/ann/book/", {"a.vcf": card("a", "Ada")})
    changes = {
        "/ann/book/": {"a.vcf": card("a", "Ada King"), "n.vcf": card("n", "New")},
        "/bob/book/": {"../escape.vcf": card("e", "Eve")},  # refused by Radicale's upload
    }
    with pytest.raises(Exception):  # noqa: B017  (Radicale's UnsafePathError)
        collections.write_many(changes)
    items = collections.items("/ann/book/")
    assert sorted(items) == ["a.vcf"] and "FN:Ada\r\n" in items["a.vcf"]
    assert collections.items("/bob/book/") == {}
    with pytest.raises(AccountError, match="no calendar or address book"):
        collections.write_many({"/ann/book/": {"n.vcf": card("n", "New")}, "/ann/none/": {}})
    assert sorted(collections.items("/ann/book/")) == ["a.vcf"]
