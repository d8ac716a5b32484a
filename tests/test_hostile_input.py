"""Acceptance: hostile client input, all of it at once, gets a 4xx with a reason.

One probe of the whole list: every answer must be a 4xx with a body saying
why (JSON under ``/api/``), nothing is stored on the way, and the server
logs no traceback for any of it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.test_importer_jobs import wait_for

DEEP = 100_000
BROKEN_EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:broken\r\n"
    "DTSTART:tomorrow-ish\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
GOOD_EVENT = BROKEN_EVENT.replace("tomorrow-ish", "20270101T100000Z").replace(
    "UID:broken", "DTSTAMP:20270101T000000Z\r\nUID:good"
)
CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\n"
    "EMAIL:ann@example.org\r\nEND:VCARD\r\n"
)
BAD_NAMES = (".hidden", "a\x00b", "x" * 300, "..\\..\\", "..", ".")


@dataclass
class Probe:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # bytes, or a value sent as JSON

    def send(self, url: str, auth: tuple[str, str] | None) -> requests.Response:
        data = self.body
        headers = dict(self.headers)
        if data is not None and not isinstance(data, bytes):
            data = json.dumps(data).encode()
            headers.setdefault("Content-Type", "application/json")
        return requests.request(
            self.method, url + self.path, data=data, headers=headers, auth=auth, timeout=60
        )


def basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def nested_json() -> bytes:
    return b'{"collection": ' + b"[" * DEEP + b"]" * DEEP + b"}"


def nested_xml(outer: bytes) -> bytes:
    return (
        b'<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop>'
        + outer
        + b'<x:deep xmlns:x="urn:x">'
        + b"<x:a>" * DEEP
        + b"</x:a>" * DEEP
        + b"</x:deep>"
        + b"</d:prop></d:set></d:propertyupdate>"
    )


def hostile(user: str, other: str) -> list[tuple[Probe, bool]]:
    """(request, sent with the user's password?) for every hostile case."""
    own = f"/{user}"
    probes: list[tuple[Probe, bool]] = []
    for header in (
        {"Authorization": "Basic !!!not base64!!!"},
        {"Authorization": "Basic é"},
        {"Authorization": "Basicfoo"},
        basic(b"no colon at all"),
        basic(b"\xff\xfe:password"),
    ):
        probes += [
            (Probe("PROPFIND", f"{own}/", {"Depth": "0", **header}), False),
            (Probe("GET", "/api/me", header), False),
        ]
    for name in (f"{own}/..", f"{own}/.", f"{own}/../{other}", "/../etc/"):
        probes += [
            (Probe("POST", "/api/shares", body={"collection": name, "with": other}), True),
            (Probe("DELETE", f"/api/shares?collection={name}&with={other}"), True),
            (Probe("POST", "/api/published", body={"collection": name}), True),
            (Probe("POST", "/api/published/rotate", body={"collection": name}), True),
            (Probe("DELETE", f"/api/published?collection={name}"), True),
            (Probe("GET", f"/api/duplicates?addressbook={name}"), True),
            (Probe("GET", f"/api/duplicates/merges?addressbook={name}"), True),
            (Probe("POST", "/api/duplicates/merge-all", body={"addressbook": name}), True),
            (Probe("GET", f"/api/contacts/import-groups?addressbook={name}"), True),
            (
                Probe(
                    "POST",
                    f"/api/contacts/imports?addressbook={name}",
                    {"Content-Type": "text/vcard"},
                    CARD.encode(),
                ),
                True,
            ),
        ]
    for name in BAD_NAMES:
        quoted = requests.utils.quote(name, safe="")
        probes += [
            (
                Probe(
                    "POST",
                    f"/api/contacts/imports?addressbook={own}/{quoted}/&new_addressbook=Book",
                    {"Content-Type": "text/vcard"},
                    CARD.encode(),
                ),
                True,
            ),
            (Probe("MKCOL", f"{own}/{quoted}/"), True),
        ]
    probes += [
        (Probe("POST", "/api/shares", {"Content-Type": "application/json"}, nested_json()), True),
        (Probe("POST", "/api/app-passwords", {}, nested_json()), True),
        (Probe("PROPPATCH", f"{own}/calendar/", {}, nested_xml(b"")), True),
        (
            Probe(
                "PROPPATCH",
                f"{own}/calendar/",
                {},
                nested_xml(b"<d:displayname>half stored</d:displayname>"),
            ),
            True,
        ),
        (Probe("PROPFIND", f"{own}/calendar/", {"Depth": "1"}, nested_xml(b"")), True),
        (Probe("REPORT", f"{own}/calendar/", {"Depth": "1"}, nested_xml(b"")), True),
        (
            Probe(
                "POST",
                f"/api/contacts/imports?addressbook={own}/&new_addressbook=a%00b",
                {"Content-Type": "text/vcard"},
                CARD.encode(),
            ),
            True,
        ),
        (Probe("PUT", f"{own}/calendar/{'n' * 300}.ics", {}, GOOD_EVENT.encode()), True),
        (Probe("PUT", f"{own}/calendar/broken.ics", {}, BROKEN_EVENT.encode()), True),
        (Probe("PROPFIND", f"{own}/calendar/", {"Depth": "banana"}), True),
        (Probe("PROPPATCH", f"{own}/.hidden/", {}, proppatch(["p"])), True),
        (Probe("GET", f"{own}/calendar/%FF%FE.ics"), True),
        (Probe("MOVE", f"{own}/calendar/x.ics", {"Destination": f"{own}/calendar/\xff.ics"}), True),
    ]
    return probes


@pytest.fixture
def accounts(server):
    return server.add_dav_user("hostile"), server.add_dav_user("other")


def test_every_hostile_request_gets_a_4xx_with_a_reason(server, accounts):
    user, other = accounts
    wrong = []
    for probe, with_password in hostile(user[0], other[0]):
        answer = probe.send(server.url, user if with_password else None)
        reason = answer.text.strip()
        if probe.path.startswith("/api/"):
            reason = answer.json().get("error", "") if _is_json(answer) else ""
        if not 400 <= answer.status_code < 500 or not reason:
            wrong.append(f"{probe.method} {probe.path[:80]!r}: {answer.status_code} {reason!r}")
    assert not wrong, "\n".join(wrong)
    server.assert_log_clean()


def test_a_refused_proppatch_stores_nothing(server, accounts):
    user, _ = accounts
    probe = Probe(
        "PROPPATCH",
        f"/{user[0]}/calendar/",
        {},
        nested_xml(b"<d:displayname>half stored</d:displayname>"),
    )
    assert probe.send(server.url, user).status_code == 400
    answer = requests.request(
        "PROPFIND", f"{server.url}/{user[0]}/calendar/", auth=user, headers={"Depth": "0"}
    )
    assert answer.status_code == 207
    assert "half stored" not in answer.text


def test_a_bad_calendar_upload_logs_one_line(server, accounts):
    user, _ = accounts
    before = len(server.log)
    answer = requests.put(
        f"{server.url}/{user[0]}/calendar/broken-once.ics", data=BROKEN_EVENT, auth=user
    )
    assert answer.status_code == 400
    # The access line is the request's last: once it is there, so is everything before it.
    wait_for(lambda: any('broken-once.ics" 400' in line for line in server.log[before:]), "log")
    lines = server.log[before:]
    assert not any("Traceback" in line for line in lines), "".join(lines)
    assert len([line for line in lines if "tomorrow-ish" in line]) == 1, "".join(lines)


def _is_json(answer: requests.Response) -> bool:
    return answer.headers.get("Content-Type", "").startswith("application/json")


def proppatch(names: list[str], value: str = "v") -> bytes:
    props = "".join(f"<x:{name}>{value}</x:{name}>" for name in names)
    return (
        '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:x="urn:example:props">'
        f"<d:set><d:prop>{props}</d:prop></d:set></d:propertyupdate>"
    ).encode()


def test_properties_per_collection_are_capped(server, accounts):
    user, _ = accounts
    url = f"{server.url}/{user[0]}/calendar/"
    first = requests.request(
        "PROPPATCH", url, data=proppatch([f"p{i}" for i in range(60)]), auth=user
    )
    assert first.status_code == 207, first.text
    more = requests.request(
        "PROPPATCH", url, data=proppatch([f"q{i}" for i in range(60)]), auth=user
    )
    assert more.status_code == 403
    assert "at most 100 properties" in more.text
    large = requests.request("PROPPATCH", url, data=proppatch(["big"], "x" * 300_000), auth=user)
    assert large.status_code == 403
    assert "bytes" in large.text
    crowded = proppatch([f"r{i}" for i in range(101)]).replace(b"propertyupdate", b"mkcol")
    made = requests.request("MKCOL", f"{server.url}/{user[0]}/crowded/", data=crowded, auth=user)
    assert made.status_code == 403
    assert "at most 100 properties" in made.text
    found = requests.request("PROPFIND", url, auth=user, headers={"Depth": "0"})
    assert "p59" in found.text
    assert "q0" not in found.text and "xxxxxxxxxx" not in found.text
