"""Writing items into a collection from outside a request: all or nothing."""

from __future__ import annotations

import dataclasses

import pytest
from radicale import storage

from config import loader
from davserver.accounts.directory import AccountError
from davserver.services import Services


def card(uid: str, name: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


@pytest.fixture
def services(tmp_path) -> Services:
    settings = loader.load(None)
    settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, data=tmp_path)
    )
    built = Services(settings)
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
    with pytest.raises(Exception):  # noqa: B017  (vobject's parse errors have no common base)
        collections.write(
            "/ann/book/",
            {"new.vcf": card("n", "New"), "bad.vcf": "BEGIN:VCARD\r\nnonsense"},
            delete=["a.vcf"],
        )
    assert sorted(collections.items("/ann/book/")) == ["a.vcf"]


def test_unknown_collection_is_refused(services):
    with pytest.raises(AccountError, match="no calendar or address book"):
        services.collections.write("/ann/nothing/", {"a.vcf": card("a", "Ada")})
