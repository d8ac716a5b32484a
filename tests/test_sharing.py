"""Sharing, end to end: the owner shares, the recipient's own client discovers and uses it.

Real server process, shares made with the real CLI and ``/api/shares``, the
recipient driven by the ``caldav`` library.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import caldav
import pytest
import requests

from tests.murmeli_process import MurmeliServer, unique_name

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Murmeli tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20270101T000000Z
DTSTART:20270301T100000Z
DTEND:20270301T110000Z
SUMMARY:{summary}
END:VEVENT
END:VCALENDAR
"""


def event(summary: str) -> tuple[str, str]:
    uid = str(uuid.uuid4())
    return uid, EVENT.format(uid=uid, summary=summary)


def put_event(server: MurmeliServer, auth: tuple[str, str], collection: str, summary: str):
    uid, body = event(summary)
    return requests.put(
        f"{server.url}{collection}{uid}.ics",
        data=body,
        auth=auth,
        headers={"Content-Type": "text/calendar"},
    )


def calendars_seen_by(server: MurmeliServer, auth: tuple[str, str]) -> dict[str, caldav.Calendar]:
    client = caldav.DAVClient(url=server.url, username=auth[0], password=auth[1])
    return {calendar.url.path: calendar for calendar in client.principal().calendars()}


def provision(server: MurmeliServer, auth: tuple[str, str]) -> None:
    """The first login creates the default collections."""
    answer = requests.request(
        "PROPFIND", f"{server.url}/{auth[0]}/", auth=auth, headers={"Depth": "0"}
    )
    assert answer.status_code == 207


def share(server: MurmeliServer, collection: str, target: str, *flags: str) -> None:
    result = server.cli("share", "add", collection, "--with", target, *flags)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def alice(server: MurmeliServer) -> tuple[str, str]:
    owner = server.add_user("alice")
    provision(server, owner)
    assert put_event(server, owner, f"/{owner[0]}/calendar/", "Board meeting").status_code == 201
    return owner


def test_read_only_share_is_discovered_and_refuses_writes(server, alice):
    bob = server.add_user("bob")
    share(server, f"/{alice[0]}/calendar/", bob[0])

    mapped = f"/{bob[0]}/{alice[0]}~calendar/"
    calendars = calendars_seen_by(server, bob)
    assert mapped in calendars
    assert calendars[mapped].get_display_name() == f"Calendar ({alice[0]})"
    summaries = [str(e.icalendar_component["SUMMARY"]) for e in calendars[mapped].events()]
    assert summaries == ["Board meeting"]

    assert put_event(server, bob, mapped, "Sneaky").status_code == 403
    href = calendars[mapped].events()[0].url.path
    assert requests.delete(f"{server.url}{href}", auth=bob).status_code == 403
    assert len(calendars_seen_by(server, alice)[f"/{alice[0]}/calendar/"].events()) == 1


def test_read_write_share_lets_the_recipient_add_events(server, alice):
    bob = server.add_user("bob")
    share(server, f"/{alice[0]}/calendar/", bob[0], "--write")

    assert (
        put_event(server, bob, f"/{bob[0]}/{alice[0]}~calendar/", "Added by Bob").status_code == 201
    )
    owner_view = calendars_seen_by(server, alice)[f"/{alice[0]}/calendar/"]
    summaries = sorted(str(e.icalendar_component["SUMMARY"]) for e in owner_view.events())
    assert summaries == ["Added by Bob", "Board meeting"]


def test_team_share_reaches_members_only(server, alice):
    team = unique_name("team")
    member = server.add_user("member", teams=(team,))
    outsider = server.add_user("outsider")
    share(server, f"/{alice[0]}/calendar/", f"group:{team}")

    assert f"/{member[0]}/{alice[0]}~calendar/" in calendars_seen_by(server, member)
    # Only this share: another test's share with the whole organisation reaches outsider.
    assert f"/{outsider[0]}/{alice[0]}~calendar/" not in calendars_seen_by(server, outsider)


def test_organisation_share_skips_externals(server, alice):
    colleague = server.add_user("colleague")
    guest = server.add_user("guest", role="external")
    share(server, f"/{alice[0]}/calendar/", "org")

    assert f"/{colleague[0]}/{alice[0]}~calendar/" in calendars_seen_by(server, colleague)
    assert not any("~" in path for path in calendars_seen_by(server, guest))
    direct = requests.get(f"{server.url}/{guest[0]}/{alice[0]}~calendar/", auth=guest)
    assert direct.status_code in (403, 404)
    assert "Board meeting" not in direct.text


def test_removed_share_stops_at_once(server, alice):
    bob = server.add_user("bob")
    share(server, f"/{alice[0]}/calendar/", bob[0])
    mapped = f"{server.url}/{bob[0]}/{alice[0]}~calendar/"
    assert "Board meeting" in requests.get(mapped, auth=bob).text

    result = server.cli("share", "remove", f"/{alice[0]}/calendar/", "--with", bob[0])
    assert result.returncode == 0, result.stderr

    after = requests.get(mapped, auth=bob)
    assert after.status_code in (403, 404)
    assert "Board meeting" not in after.text
    assert f"/{bob[0]}/{alice[0]}~calendar/" not in calendars_seen_by(server, bob)


def test_strongest_share_wins_when_several_reach_a_user(server, alice):
    team = unique_name("team")
    bob = server.add_user("bob", teams=(team,))
    share(server, f"/{alice[0]}/calendar/", "org")
    share(server, f"/{alice[0]}/calendar/", f"group:{team}", "--write")

    assert put_event(server, bob, f"/{bob[0]}/{alice[0]}~calendar/", "Team note").status_code == 201


def test_share_api_for_the_owner(server, alice):
    bob = server.add_user("bob")
    collection = f"/{alice[0]}/calendar/"
    created = requests.post(
        f"{server.url}/api/shares",
        json={"collection": collection, "with": bob[0], "access": "write"},
        auth=alice,
    )
    assert created.status_code == 201, created.text
    assert created.json()["access"] == "write"

    listed = requests.get(f"{server.url}/api/shares", auth=bob).json()
    assert [r for r in listed["received"] if r["owner"] == alice[0]] == [
        {
            "collection": collection,
            "owner": alice[0],
            "path": f"/{bob[0]}/{alice[0]}~calendar/",
            "access": "write",
        }
    ]

    not_owner = requests.post(
        f"{server.url}/api/shares", json={"collection": collection, "with": bob[0]}, auth=bob
    )
    assert not_owner.status_code == 403
    bad_target = requests.post(
        f"{server.url}/api/shares",
        json={"collection": collection, "with": "nobody-here"},
        auth=alice,
    )
    assert bad_target.status_code == 400
    assert "no such user" in bad_target.json()["error"]

    removed = requests.delete(
        f"{server.url}/api/shares", params={"collection": collection, "with": bob[0]}, auth=alice
    )
    assert removed.status_code == 200
    received = requests.get(f"{server.url}/api/shares", auth=bob).json()["received"]
    assert [r for r in received if r["owner"] == alice[0]] == []


def test_share_cli_refuses_bad_input(server, alice):
    missing = server.cli("share", "add", f"/{alice[0]}/no-such/", "--with", "org")
    assert missing.returncode == 2
    assert "no calendar or address book" in missing.stderr
    to_self = server.cli("share", "add", f"/{alice[0]}/calendar/", "--with", alice[0])
    assert to_self.returncode == 2
    assert "owner" in to_self.stderr
    listed = server.cli("share", "list", alice[0])
    assert listed.returncode == 0
    assert f"/{alice[0]}/calendar/" not in listed.stdout


def test_shared_collection_is_kept_until_its_shares_are_removed(server, alice):
    bob = server.add_user("bob")
    collection = f"/{alice[0]}/calendar/"
    share(server, collection, bob[0])
    assert requests.delete(f"{server.url}{collection}", auth=alice).status_code == 409
    assert server.cli("share", "remove", collection, "--with", bob[0]).returncode == 0
    assert requests.delete(f"{server.url}{collection}", auth=alice).status_code == 200
    assert requests.get(f"{server.url}{collection}", auth=alice).status_code == 404


FREEBUSY_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
  <C:time-range start="20270301T000000Z" end="20270302T000000Z"/>
</C:free-busy-query>"""


def test_freebusy_share_shows_times_but_no_details(server, alice):
    bob = server.add_user("bob")
    share(server, f"/{alice[0]}/calendar/", bob[0], "--freebusy")
    mapped = f"{server.url}/{bob[0]}/{alice[0]}~calendar/"

    busy = requests.request("REPORT", mapped, data=FREEBUSY_QUERY, auth=bob, headers={"Depth": "1"})
    assert busy.status_code == 200, busy.text
    assert "FREEBUSY" in busy.text and "20270301T100000Z" in busy.text
    assert "Board meeting" not in busy.text
    details = requests.get(mapped, auth=bob)
    assert details.status_code == 403
    assert "Board meeting" not in details.text


def test_share_cli_shares_with_each_target_given_or_with_none(server, alice):
    bob, carol, dave = (server.add_user(name) for name in ("bob", "carol", "dave"))
    collection = f"/{alice[0]}/calendar/"
    both = server.cli("share", "add", collection, "--with", bob[0], "--with", carol[0])
    assert both.returncode == 0, both.stderr
    assert f"shared with {bob[0]} (read)" in both.stdout
    assert f"shared with {carol[0]} (read)" in both.stdout
    for recipient in (bob, carol):
        assert f"/{recipient[0]}/{alice[0]}~calendar/" in calendars_seen_by(server, recipient)

    refused = server.cli("share", "add", collection, "--with", dave[0], "--with", "nobody-x")
    assert refused.returncode == 2
    assert "nobody-x" in refused.stderr
    assert f"/{dave[0]}/{alice[0]}~calendar/" not in calendars_seen_by(server, dave)

    removed = server.cli("share", "remove", collection, "--with", bob[0], "--with", carol[0])
    assert removed.returncode == 0, removed.stderr
    listed = server.cli("share", "list", alice[0])
    assert bob[0] not in listed.stdout and carol[0] not in listed.stdout


PRIVATE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Murmeli tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20270101T000000Z
DTSTART:20270302T100000Z
DTEND:20270302T110000Z
RRULE:FREQ=WEEKLY;COUNT=3
SUMMARY:Salary talk
LOCATION:Room 7
CLASS:{klass}
END:VEVENT
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20270101T000000Z
RECURRENCE-ID:20270309T100000Z
DTSTART:20270309T150000Z
DTEND:20270309T160000Z
SUMMARY:Salary talk, moved
LOCATION:Room 7
END:VEVENT
END:VCALENDAR
"""


def multistatus_items(answer: requests.Response) -> dict[str, tuple[str, str]]:
    """href -> (getetag, calendar-data) of a multistatus answer."""
    found = {}
    for response in ET.fromstring(answer.content).iter("{DAV:}response"):
        found[response.findtext("{DAV:}href")] = (
            response.findtext(".//{DAV:}getetag"),
            response.findtext(".//{urn:ietf:params:xml:ns:caldav}calendar-data") or "",
        )
    return found


@pytest.mark.parametrize("klass", ["PRIVATE", "CONFIDENTIAL"])
def test_read_only_share_shows_private_events_as_busy_only(server, alice, klass):
    bob, carol = server.add_user("bob"), server.add_user("carol")
    share(server, f"/{alice[0]}/calendar/", bob[0])
    share(server, f"/{alice[0]}/calendar/", carol[0], "--write")
    uid = str(uuid.uuid4())
    stored = requests.put(
        f"{server.url}/{alice[0]}/calendar/{uid}.ics",
        data=PRIVATE.format(uid=uid, klass=klass),
        auth=alice,
        headers={"Content-Type": "text/calendar"},
    )
    assert stored.status_code == 201

    mapped = f"/{bob[0]}/{alice[0]}~calendar/"
    got = requests.get(f"{server.url}{mapped}{uid}.ics", auth=bob)
    assert got.status_code == 200
    assert "Salary" not in got.text and "Room 7" not in got.text
    assert got.text.count("SUMMARY:Busy") == 2 and f"UID:{uid}" in got.text
    assert "RRULE:FREQ=WEEKLY;COUNT=3" in got.text and "RECURRENCE-ID:20270309T100000Z" in got.text
    report = requests.request(
        "REPORT",
        f"{server.url}{mapped}",
        auth=bob,
        headers={"Depth": "1", "Content-Type": "application/xml"},
        data='<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
        '</D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>',
    )
    assert report.status_code == 207
    items = multistatus_items(report)
    etag, data = items[f"{mapped}{uid}.ics"]
    assert "Salary" not in report.text and "SUMMARY:Busy" in data
    assert etag == got.headers["ETag"]  # one ETag however the client reads the item
    public = [d for href, (_, d) in items.items() if href != f"{mapped}{uid}.ics"]
    assert public and all("Board meeting" in d for d in public)
    listing = requests.request("PROPFIND", server.url + mapped, auth=bob, headers={"Depth": "1"})
    assert multistatus_items(listing)[f"{mapped}{uid}.ics"][0] == got.headers["ETag"]
    search = requests.request(
        "REPORT",
        server.url + mapped,
        auth=bob,
        headers={"Depth": "1", "Content-Type": "application/xml"},
        data='<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter>'
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter '
        'name="SUMMARY"><C:text-match>Salary</C:text-match></C:prop-filter></C:comp-filter>'
        "</C:comp-filter></C:filter></C:calendar-query>",
    )
    assert search.status_code == 403  # which events match would tell what they say

    writer = requests.get(f"{server.url}/{carol[0]}/{alice[0]}~calendar/{uid}.ics", auth=carol)
    assert writer.status_code == 200 and "Salary talk" in writer.text
