"""Acceptance: item and collection names in any script, with spaces and URL characters.

Names travel percent-encoded UTF-8 in URLs and Destination headers; each must
come back as sent through GET, PROPFIND, sync-collection, MOVE and the public
feed. The last test is vdirsyncer's own storage test ``test_specialchars``,
run with vdirsyncer's CalDAV storage against Murmeli.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import aiohttp
import pytest
import requests
from vdirsyncer import utils as vdirsyncer_utils
from vdirsyncer.storage.dav import CalDAVStorage
from vdirsyncer.vobject import Item

from tests.test_vdirsyncer import event

NAMES = (
    "Встреча",  # Cyrillic: its UTF-8 holds bytes 0x80-0x9F
    "会議",
    "🎉 party",
    "with space",
    "a@b",
    "a+b",
    "100%",
    "Tom&Jerry",
    "über",
)
SYNC_COLLECTION = (
    '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
    "<d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>"
    "</d:sync-collection>"
)
MKCALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" '
    'xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>{}</d:displayname>'
    "</d:prop></d:set></c:mkcalendar>"
)


@pytest.fixture
def user(server):
    return server.add_dav_user("names")


def hrefs(answer: requests.Response) -> set[str]:
    """The hrefs of a multistatus answer, percent-decoded."""
    assert answer.status_code == 207, answer.text
    root = ElementTree.fromstring(answer.content)
    return {unquote(href.text or "") for href in root.iter("{DAV:}href")}


def test_item_names_round_trip(server, user):
    calendar = f"/{user[0]}/calendar/"
    for name in NAMES:
        put = requests.put(
            f"{server.url}{calendar}{quote(name)}.ics", data=event(name, name).encode(), auth=user
        )
        assert put.status_code == 201, f"{name}: {put.status_code} {put.text}"
        got = requests.get(f"{server.url}{calendar}{quote(name)}.ics", auth=user)
        assert got.status_code == 200 and f"UID:{name}" in got.text, name
    expected = {f"{calendar}{name}.ics" for name in NAMES}
    listed = requests.request(
        "PROPFIND", f"{server.url}{calendar}", auth=user, headers={"Depth": "1"}
    )
    assert expected <= hrefs(listed)
    synced = requests.request(
        "REPORT",
        f"{server.url}{calendar}",
        data=SYNC_COLLECTION,
        auth=user,
        headers={"Content-Type": "application/xml"},
    )
    assert expected <= hrefs(synced)


def test_move_to_a_name_in_any_script(server, user):
    calendar = f"/{user[0]}/calendar/"
    source = f"{server.url}{calendar}moving.ics"
    assert requests.put(source, data=event("moving", "Moving"), auth=user).status_code == 201
    # Percent-encoded, as clients send it; then raw UTF-8 in the header, as some do.
    first = f"{server.url}{calendar}{quote('Переезд 会議')}.ics"
    moved = requests.request("MOVE", source, headers={"Destination": first}, auth=user)
    assert moved.status_code in (201, 204), moved.text
    raw = f"{calendar}{'🎉 & ü'}.ics".encode().decode("latin-1")
    moved = requests.request("MOVE", first, headers={"Destination": raw}, auth=user)
    assert moved.status_code in (201, 204), moved.text
    listed = requests.request(
        "PROPFIND", f"{server.url}{calendar}", auth=user, headers={"Depth": "1"}
    )
    names = hrefs(listed)
    assert f"{calendar}🎉 & ü.ics" in names
    assert f"{calendar}Переезд 会議.ics" not in names


def test_name_that_is_not_utf8_is_refused(server, user):
    answer = requests.get(f"{server.url}/{user[0]}/calendar/%C3%28.ics", auth=user)
    assert answer.status_code == 400
    assert "UTF-8" in answer.text


def test_collection_names_round_trip_and_publish(server, user):
    for name in NAMES:
        path = f"/{user[0]}/{name}/"
        made = requests.request(
            "MKCALENDAR", server.url + quote(path), data=MKCALENDAR.format(escape(name)), auth=user
        )
        assert made.status_code == 201, f"{name}: {made.status_code} {made.text}"
        item = f"{server.url}{quote(path)}{quote(name)}.ics"
        assert requests.put(item, data=event(f"in-{name}", name), auth=user).status_code == 201
    listed = requests.request(
        "PROPFIND", f"{server.url}/{user[0]}/", auth=user, headers={"Depth": "1"}
    )
    assert {f"/{user[0]}/{name}/" for name in NAMES} <= hrefs(listed)
    for name in NAMES:
        path = f"/{user[0]}/{name}/"
        synced = requests.request(
            "REPORT",
            server.url + quote(path),
            data=SYNC_COLLECTION,
            auth=user,
            headers={"Content-Type": "application/xml"},
        )
        assert f"{path}{name}.ics" in hrefs(synced)
        published = requests.post(
            f"{server.url}/api/published", json={"collection": path}, auth=user
        )
        assert published.status_code == 200, published.text
        assert published.json()["collection"] == path
        feed = requests.get(server.url + urlsplit(published.json()["url"]).path)
        assert feed.status_code == 200, f"{name}: {feed.text}"
        assert f"SUMMARY:{name}" in feed.text
    links = requests.get(f"{server.url}/api/published", auth=user).json()
    assert {f"/{user[0]}/{name}/" for name in NAMES} <= {link["collection"] for link in links}


def test_vdirsyncer_specialchars(server, user, monkeypatch):
    """vdirsyncer's tests/storage/__init__.py::test_specialchars, against Murmeli."""
    monkeypatch.setattr(vdirsyncer_utils, "generate_href", lambda ident: ident)
    uid = "test @ foo ät bar град сатану"
    collection = "test @ foo ät bar"

    async def run() -> None:
        async with aiohttp.TCPConnector(limit_per_host=4) as connector:
            account = {"username": user[0], "password": user[1], "connector": connector}
            created = await CalDAVStorage.create_collection(collection, url=server.url, **account)
            storage = CalDAVStorage(url=created["url"], **account)
            item = Item(event(uid, "Special"))
            href, etag = await storage.upload(item)
            item2, etag2 = await storage.get(href)
            assert etag2 == etag
            assert item2.hash == item.hash
            ((_, etag3),) = [entry async for entry in storage.list()]
            assert etag3 == etag2
            assert collection in unquote(storage.url)
            assert quote(uid, "/@:") in href

    asyncio.run(run())
