"""Bad input gets a 4xx with a reason and stores nothing; no traceback ever reaches a client."""

from __future__ import annotations

import pytest
import requests

BROKEN_EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:broken\r\n"
    "DTSTART:tomorrow-ish\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
CARD_WITHOUT_UID = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody\r\nN:Nobody;;;;\r\nEND:VCARD\r\n"
GOOD_EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:good\r\n"
    "DTSTAMP:20270101T000000Z\r\nDTSTART:20270101T100000Z\r\nSUMMARY:Private\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
ENTITY_BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<propfind xmlns="DAV:"><prop><displayname>&lol2;</displayname></prop></propfind>"""


@pytest.fixture
def user(server):
    auth = server.add_user("input")
    answer = requests.request(
        "PROPFIND", f"{server.url}/{auth[0]}/", auth=auth, headers={"Depth": "0"}
    )
    assert answer.status_code == 207
    return auth


@pytest.mark.parametrize(
    ("collection", "body", "reason"),
    [
        ("calendar", BROKEN_EVENT, "tomorrow-ish"),
        ("calendar", "this is not iCalendar", "Failed to parse line"),
        ("contacts", CARD_WITHOUT_UID, "without UID"),
        ("contacts", GOOD_EVENT, "not supported in 'VADDRESSBOOK' collection"),
    ],
)
def test_malformed_objects_are_refused_with_a_reason(server, user, collection, body, reason):
    url = f"{server.url}/{user[0]}/{collection}/item"
    answer = requests.put(url, data=body.encode(), auth=user)
    assert answer.status_code == 400
    assert reason in answer.text
    assert "Traceback" not in answer.text
    assert requests.get(url, auth=user).status_code == 404


def test_oversize_body_is_refused_with_413(server, user):
    url = f"{server.url}/{user[0]}/calendar/huge.ics"
    answer = requests.put(url, data=b"x" * (11 * 1024 * 1024), auth=user)
    assert answer.status_code == 413
    assert requests.get(url, auth=user).status_code == 404


def test_entity_expansion_is_refused(server, user):
    answer = requests.request(
        "PROPFIND",
        f"{server.url}/{user[0]}/calendar/",
        data=ENTITY_BOMB,
        auth=user,
        headers={"Depth": "0"},
    )
    assert answer.status_code == 400
    assert "entity" in answer.text
    assert "lollol" not in answer.text


def test_another_users_data_stays_theirs(server, user):
    owner = user
    put = requests.put(f"{server.url}/{owner[0]}/calendar/good.ics", data=GOOD_EVENT, auth=owner)
    assert put.status_code == 201
    intruder = server.add_user("intruder")
    for method in ("GET", "PROPFIND", "DELETE", "PUT"):
        answer = requests.request(
            method,
            f"{server.url}/{owner[0]}/calendar/good.ics",
            auth=intruder,
            data=GOOD_EVENT if method == "PUT" else None,
        )
        assert answer.status_code in (403, 404), method
        assert "Private" not in answer.text
    assert "Private" in requests.get(f"{server.url}/{owner[0]}/calendar/good.ics", auth=owner).text


def test_api_bad_requests(server, user):
    not_json = requests.post(
        f"{server.url}/api/app-passwords",
        data="{oops",
        headers={"Content-Type": "application/json"},
        auth=user,
    )
    assert not_json.status_code == 400
    assert "not valid JSON" in not_json.json()["error"]
    no_label = requests.post(f"{server.url}/api/app-passwords", json={}, auth=user)
    assert no_label.status_code == 400
    assert "label" in no_label.json()["error"]
    unknown = requests.get(f"{server.url}/api/nothing-here", auth=user)
    assert unknown.status_code == 404
    wrong_method = requests.put(f"{server.url}/api/me", auth=user)
    assert wrong_method.status_code == 405
    anonymous = requests.get(f"{server.url}/api/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
