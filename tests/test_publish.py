"""Public .ics links, end to end: published with the real CLI and ``/api/published``,
events written with the ``caldav`` library, the feed fetched anonymously with ``requests``
as subscribing apps poll it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import stat
import uuid
from urllib.parse import urlsplit

import caldav
import icalendar
import pytest
import requests

from tests.ical_samples import central_european_vtimezone
from tests.murmeli_process import MurmeliServer

BERLIN = central_european_vtimezone("Europe/Berlin")
SECRET_DETAILS = (
    "Acquisition talks",
    "term sheet",
    "Room 12",
    "carol@example.org",
    "dave@example.org",
)


def vcalendar(uid: str, summary: str, *extra: str, timezone: bool = False) -> str:
    start = "DTSTART;TZID=Europe/Berlin:20270301T100000" if timezone else "DTSTART:20270301T100000Z"
    return "\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Murmeli tests//EN",
            *([BERLIN.strip()] if timezone else []),
            "BEGIN:VEVENT",
            f"UID:{uid}",
            "DTSTAMP:20270101T000000Z",
            start,
            "DURATION:PT1H",
            f"SUMMARY:{summary}",
            *extra,
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )


DETAILED = (
    "DESCRIPTION:Bring the term sheet",
    "LOCATION:Room 12",
    "ORGANIZER;CN=Carol:mailto:carol@example.org",
    "ATTENDEE;CN=Dave;PARTSTAT=ACCEPTED:mailto:dave@example.org",
)


class Owner:
    """A user with a calendar, driven through the ``caldav`` library like a real client."""

    def __init__(self, server: MurmeliServer) -> None:
        self.server = server
        self.name, self.password = server.add_user("pub")
        client = caldav.DAVClient(url=server.url, username=self.name, password=self.password)
        self.calendar = client.principal().calendars()[0]
        self.collection = f"/{self.name}/calendar/"

    @property
    def auth(self) -> tuple[str, str]:
        return self.name, self.password

    def add_event(self, summary: str, *extra: str, timezone: bool = False) -> caldav.Event:
        return self.calendar.save_event(
            vcalendar(str(uuid.uuid4()), summary, *extra, timezone=timezone)
        )

    def publish(self, *flags: str, action: str = "on") -> str:
        """The feed's path, from the link the CLI prints alone on its last line."""
        result = self.server.cli("publish", action, self.collection, *flags)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.strip().splitlines()
        assert lines[-2].startswith("subscribe: webcal://")
        link = urlsplit(lines[-1])
        assert link.scheme == "http"
        assert link.path.startswith("/.token/v1/") and len(link.path) == len("/.token/v1//") + 44
        return link.path

    def feed(self, path: str, **headers: str) -> requests.Response:
        return requests.get(self.server.url + path, headers=headers)


@pytest.fixture
def owner(server: MurmeliServer) -> Owner:
    return Owner(server)


def summaries(answer: requests.Response) -> list[str]:
    calendar = icalendar.Calendar.from_ical(answer.text)
    return sorted(str(event["SUMMARY"]) for event in calendar.walk("VEVENT"))


def test_feed_serves_the_calendar_with_name_refresh_and_timezones(owner):
    owner.add_event("Standup", timezone=True)
    owner.add_event("Review")
    path = owner.publish()

    answer = owner.feed(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert answer.headers["ETag"] and answer.headers["Last-Modified"]
    assert summaries(answer) == ["Review", "Standup"]
    calendar = icalendar.Calendar.from_ical(answer.text)
    assert str(calendar["X-WR-CALNAME"]) == "Calendar"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in answer.text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in answer.text
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    standup = next(e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "Standup")
    assert standup["DTSTART"].dt.utcoffset().total_seconds() == 3600


def test_second_poll_is_answered_304_until_the_calendar_changes(owner):
    event = owner.add_event("Planning")
    path = owner.publish()
    first = owner.feed(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    again = owner.feed(path, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert owner.feed(path, **{"If-Modified-Since": modified}).status_code == 304

    event.icalendar_component["SUMMARY"] = "Planning (moved)"
    event.save()
    changed = owner.feed(path, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert summaries(changed) == ["Planning (moved)"]


def test_a_change_right_after_a_poll_is_never_missed(owner):
    """Changes within one timestamp tick of a rendering must still reach subscribers."""
    path = owner.publish()
    seen = owner.feed(path)
    for number in range(5):
        owner.add_event(f"Quick {number}")
        latest = owner.feed(path, **{"If-None-Match": seen.headers["ETag"]})
        assert latest.status_code == 200
        assert f"Quick {number}" in summaries(latest)
        seen = latest


def test_head_and_gzip(owner):
    owner.add_event("Compressed")
    path = owner.publish()
    plain = requests.get(owner.server.url + path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert int(plain.headers["Content-Length"]) == len(plain.content)

    zipped = requests.get(owner.server.url + path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) < len(plain.content)
    assert zipped.content == plain.content  # requests decompressed it

    head = requests.head(owner.server.url + path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["ETag"] == plain.headers["ETag"]


def test_off_answers_404_at_once_and_rotate_kills_the_old_link(owner):
    owner.add_event("Visible")
    path = owner.publish()
    assert owner.feed(path).status_code == 200

    rotated = owner.publish(action="rotate")
    assert rotated != path
    assert owner.feed(path).status_code == 404
    assert summaries(owner.feed(rotated)) == ["Visible"]

    result = owner.server.cli("publish", "off", owner.collection)
    assert result.returncode == 0, result.stderr
    assert owner.feed(rotated).status_code == 404
    assert owner.server.cli("publish", "rotate", owner.collection).returncode == 2


def test_busy_only_leaks_no_details(owner):
    owner.add_event(
        "Acquisition talks",
        *DETAILED,
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:Acquisition talks",
        "TRIGGER:-PT5M",
        "END:VALARM",
    )
    path = owner.publish("--busy-only")
    answer = owner.feed(path)
    for detail in SECRET_DETAILS:
        assert detail not in answer.text
    assert summaries(answer) == ["Busy"]
    assert "BEGIN:VALARM" not in answer.text
    event = icalendar.Calendar.from_ical(answer.text).walk("VEVENT")[0]
    assert event["DURATION"].dt.total_seconds() == 3600


def test_private_events_show_as_busy_in_full_mode(owner):
    owner.add_event("Acquisition talks", *DETAILED, "CLASS:PRIVATE")
    owner.add_event("Team lunch", "CLASS:PUBLIC")
    answer = owner.feed(owner.publish())
    for detail in SECRET_DETAILS:
        assert detail not in answer.text
    assert summaries(answer) == ["Busy", "Team lunch"]


def test_mode_changes_keep_the_link(owner):
    owner.add_event("Acquisition talks", *DETAILED)
    path = owner.publish()
    assert "Acquisition talks" in owner.feed(path).text
    assert owner.publish("--busy-only") == path
    assert "Acquisition talks" not in owner.feed(path).text


def test_owner_api_publishes_lists_rotates_and_unpublishes(owner):
    api = owner.server.url + "/api/published"
    created = requests.post(
        api, json={"collection": owner.collection, "mode": "busy-only"}, auth=owner.auth
    )
    assert created.status_code == 200, created.text
    link = created.json()
    assert link["mode"] == "busy-only"
    assert link["webcal"] == "webcal://" + link["url"].removeprefix("http://")
    assert urlsplit(link["url"]).netloc == urlsplit(owner.server.url).netloc
    assert requests.get(link["url"]).status_code == 200

    listed = requests.get(api, auth=owner.auth).json()
    assert [entry["url"] for entry in listed] == [link["url"]]

    rotated = requests.post(api + "/rotate", json={"collection": owner.collection}, auth=owner.auth)
    assert rotated.status_code == 200
    assert requests.get(link["url"]).status_code == 404
    assert requests.get(rotated.json()["url"]).status_code == 200

    gone = requests.delete(api, params={"collection": owner.collection}, auth=owner.auth)
    assert gone.status_code == 200
    assert requests.get(rotated.json()["url"]).status_code == 404


def test_only_the_owner_may_publish_and_only_calendars(server, owner):
    other = Owner(server)
    api = server.url + "/api/published"
    refused = requests.post(api, json={"collection": owner.collection}, auth=other.auth)
    assert refused.status_code == 403
    assert "not yours" in refused.json()["error"]
    refused = requests.delete(api, params={"collection": owner.collection}, auth=other.auth)
    assert refused.status_code == 403

    book = requests.post(api, json={"collection": f"/{owner.name}/contacts/"}, auth=owner.auth)
    assert book.status_code == 400 and "only calendars" in book.json()["error"]
    missing = requests.post(api, json={"collection": f"/{owner.name}/nope/"}, auth=owner.auth)
    assert missing.status_code == 400 and "no calendar" in missing.json()["error"]
    bad_mode = requests.post(
        api, json={"collection": owner.collection, "mode": "secret"}, auth=owner.auth
    )
    assert bad_mode.status_code == 400 and "mode" in bad_mode.json()["error"]
    assert requests.get(api, auth=owner.auth).json() == []

    for collection in (f"/{owner.name}/contacts/", f"/{owner.name}/nope/", "/nobody/calendar/"):
        result = server.cli("publish", "on", collection)
        assert result.returncode == 2, result.stdout
        assert "error" in result.stderr and "Traceback" not in result.stderr


def test_unknown_tokens_and_writes_are_refused(owner):
    path = owner.publish()
    url = owner.server.url
    assert requests.get(url + "/.token/v1/" + "A" * 44 + "/").status_code == 404
    assert requests.get(url + "/.token/v1/short/").status_code == 404
    assert requests.get(url + path + "item.ics").status_code == 404
    assert requests.get(url + path.rstrip("/")).status_code == 404
    put = requests.put(url + path, data=vcalendar("x", "Injected"))
    assert put.status_code == 405 and put.headers["Allow"] == "GET, HEAD"
    assert requests.request("PROPFIND", url + path).status_code == 405
    assert "Injected" not in owner.feed(path).text


def test_link_survives_a_restart(tmp_path):
    """The link is state in Murmeli's database, not in the process. On a server of its
    own: the restart must not touch the other tests' server."""
    server = MurmeliServer(tmp_path / "data").start()
    try:
        owner = Owner(server)
        owner.add_event("Persistent")
        path = owner.publish()
        before = owner.feed(path)
        owner.server.stop()
        owner.server.start()
        after = owner.feed(path, **{"If-None-Match": before.headers["ETag"]})
        assert after.status_code == 304
    finally:
        server.stop()


def test_printed_links_say_where_their_base_comes_from(owner, tmp_path):
    unset = owner.server.cli("publish", "on", owner.collection)
    assert unset.returncode == 0, unset.stderr
    assert "warning: links use http://127.0.0.1:5232 (server.listen)" in unset.stderr
    assert "set server.base_url" in unset.stderr

    config = tmp_path / "murmeli.yaml"
    config.write_text("server:\n  base_url: https://cal.example.org\n")
    configured = owner.server.cli("publish", "list", "--config", str(config), owner.name)
    assert configured.returncode == 0, configured.stderr
    assert configured.stderr == "links use https://cal.example.org (server.base_url)\n"
    assert "https://cal.example.org/.token/v1/" in configured.stdout


def test_the_database_holds_no_working_link_yet_the_owner_sees_it_again(owner):
    api = owner.server.url + "/api/published"
    link = requests.post(api, json={"collection": owner.collection}, auth=owner.auth).json()
    token = link["url"].rstrip("/").rsplit("/.token/", 1)[1]
    with sqlite3.connect(owner.server.data / "murmeli.sqlite3") as database:
        rows = database.execute("SELECT * FROM published_calendars").fetchall()
    assert token.encode() not in repr(rows).encode()
    assert hashlib.sha256(token.encode()).hexdigest() in repr(rows)
    key_file = owner.server.data / "publish-links.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    listed = requests.get(api, auth=owner.auth).json()
    assert link["url"] in [entry["url"] for entry in listed]
    assert requests.get(link["url"]).status_code == 200
