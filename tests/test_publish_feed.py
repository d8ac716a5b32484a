"""Unit tests of the feed rendering (``plugins/publish/feed.py``) and the HTTP conditions."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import icalendar
import pytest
from radicale import config

from plugins import content_lines
from plugins.publish import feed
from plugins.publish.snapshot import SETTLE_NS, Feed, Feeds
from plugins.publish.subscription import accepts_gzip, not_modified

BERLIN = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""
TOKYO = BERLIN.replace("Europe/Berlin", "Asia/Tokyo")


def item(*components: str) -> str:
    body = "".join(components)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{body}END:VCALENDAR\r\n".replace(
        "\r\n", "\n"
    ).replace("\n", "\r\n")


def vevent(uid: str, *lines: str, start: str = "DTSTART:20270301T100000Z") -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", start, "DTEND:20270301T110000Z", *lines])


DETAILED = vevent(
    "detailed",
    "SUMMARY:Salary talk with Bob",
    "DESCRIPTION:bring the numbers",
    "LOCATION:Room 7",
    "ORGANIZER;CN=Alice:mailto:alice@example.org",
    'ATTENDEE;CN="Bob: the boss";PARTSTAT=ACCEPTED:mailto:bob@example.org',
    "URL:https://example.org/secret",
    "CATEGORIES:HR",
    "COMMENT:confidential",
    "CONTACT:Carol",
    "X-ALT-DESC;FMTTYPE=text/html:<b>numbers</b>",
    "RRULE:FREQ=WEEKLY;COUNT=3",
    "BEGIN:VALARM",
    "ACTION:DISPLAY",
    "DESCRIPTION:Salary talk soon",
    "TRIGGER:-PT15M",
    "END:VALARM",
    "END:VEVENT\n",
)
SECRETS = ("Salary", "numbers", "Room 7", "alice@", "bob@", "secret", "HR", "confidential")


def parsed(text: str) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(text)


def events(text: str) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in parsed(text).walk("VEVENT")}


def test_header_names_the_calendar_and_asks_for_hourly_refresh():
    text = feed.render([item(DETAILED)], "Team; Berlin, office", only_busy=False)
    assert parsed(text).walk("VEVENT")
    assert "NAME:Team\\; Berlin\\, office\r\n" in text
    assert "X-WR-CALNAME:Team\\; Berlin\\, office\r\n" in text
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    assert "X-PUBLISHED-TTL:PT1H\r\n" in text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")


def test_full_mode_keeps_every_detail():
    text = feed.render([item(DETAILED)], "Cal", only_busy=False)
    event = events(text)["detailed"]
    assert str(event["SUMMARY"]) == "Salary talk with Bob"
    assert str(event["LOCATION"]) == "Room 7"
    assert event.walk("VALARM")


def test_busy_only_keeps_times_and_recurrence_and_nothing_else():
    text = feed.render([item(DETAILED)], "Cal", only_busy=True)
    for secret in SECRETS:
        assert secret not in text
    event = events(text)[feed.busy_uid("detailed", b"")]
    assert str(event["SUMMARY"]) == "Busy"
    assert event["DTSTART"].to_ical() == b"20270301T100000Z"
    assert event["RRULE"]["COUNT"] == [3]
    assert not event.walk("VALARM")
    assert set(event.keys()) <= feed.BUSY_PROPERTIES | {"SUMMARY"}


@pytest.mark.parametrize("klass", ["PRIVATE", "CONFIDENTIAL", "X-SECRET"])
def test_non_public_events_are_busy_only_even_in_full_mode(klass):
    private = DETAILED.replace("UID:detailed", f"UID:private\nCLASS:{klass}")
    public = vevent("public", "CLASS:PUBLIC", "SUMMARY:Team lunch", "END:VEVENT\n")
    text = feed.render([item(private), item(public)], "Cal", only_busy=False)
    for secret in SECRETS:
        assert secret not in text
    found = events(text)
    assert str(found[feed.busy_uid("private", b"")]["SUMMARY"]) == "Busy"
    assert str(found["public"]["SUMMARY"]) == "Team lunch"


def test_todos_and_journals_are_left_out_of_busy_only_and_private():
    todo = "BEGIN:VTODO\nUID:todo\nSUMMARY:Buy ring\nEND:VTODO\n"
    journal = "BEGIN:VJOURNAL\nUID:j\nCLASS:PRIVATE\nSUMMARY:Dear diary\nEND:VJOURNAL\n"
    busy = feed.render([item(todo), item(journal)], "Cal", only_busy=True)
    full = feed.render([item(todo), item(journal)], "Cal", only_busy=False)
    assert "Buy ring" not in busy and "Dear diary" not in busy
    assert "Buy ring" in full and "Dear diary" not in full


def test_each_timezone_in_use_appears_once_and_unused_ones_not_at_all():
    berlin = vevent("b", "END:VEVENT\n", start="DTSTART;TZID=Europe/Berlin:20270301T100000")
    quoted = vevent("q", "END:VEVENT\n", start='DTSTART;TZID="Europe/Berlin":20270302T100000')
    utc = vevent("u", "END:VEVENT\n")
    text = feed.render(
        [item(BERLIN, berlin), item(BERLIN, quoted), item(TOKYO, utc)], "Cal", only_busy=True
    )
    assert text.count("BEGIN:VTIMEZONE") == 1
    assert "TZID:Europe/Berlin" in text and "Asia/Tokyo" not in text
    start = events(text)[feed.busy_uid("b", b"")]["DTSTART"].dt
    assert start.utcoffset().total_seconds() == 3600


def test_long_lines_are_folded_at_75_octets_without_splitting_characters():
    summary = "Überraschung für Jürgen " * 10
    text = feed.render([item(vevent("f", f"SUMMARY:{summary}", "END:VEVENT\n"))], "Cal", False)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert str(events(text)["f"]["SUMMARY"]) == summary


def test_folded_input_lines_are_understood():
    folded = (
        "BEGIN:VEVENT\nUID:x\nDTSTART:20270301T100000Z\nSUMM\n ARY:Hidden\n  title\nEND:VEVENT\n"
    )
    text = feed.render([item(folded)], "Cal", only_busy=True)
    assert "Hidden" not in text and "title" not in text


def test_parameter_values_may_hold_colons():
    assert content_lines.split_parameters('ATTENDEE;CN="A: B":mailto:a@b') == (
        "ATTENDEE",
        ';CN="A: B"',
        "mailto:a@b",
    )


CURRENT = Feed(b"x", b"y", 'W/"abc"', 1_700_000_000, "Tue, 14 Nov 2023 22:13:20 GMT")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"HTTP_IF_NONE_MATCH": 'W/"abc"'}, True),
        ({"HTTP_IF_NONE_MATCH": '"abc"'}, True),
        ({"HTTP_IF_NONE_MATCH": '"old", W/"abc"'}, True),
        ({"HTTP_IF_NONE_MATCH": "*"}, True),
        ({"HTTP_IF_NONE_MATCH": '"old"'}, False),
        ({"HTTP_IF_MODIFIED_SINCE": "Tue, 14 Nov 2023 22:13:20 GMT"}, True),
        ({"HTTP_IF_MODIFIED_SINCE": "Tue, 14 Nov 2023 22:13:19 GMT"}, False),
        ({"HTTP_IF_MODIFIED_SINCE": "yesterday"}, False),
        # If-None-Match decides when both are present (RFC 9110 13.2.2).
        (
            {
                "HTTP_IF_NONE_MATCH": '"old"',
                "HTTP_IF_MODIFIED_SINCE": "Tue, 14 Nov 2023 22:13:20 GMT",
            },
            False,
        ),
        ({}, False),
    ],
)
def test_conditional_requests(headers, expected):
    assert not_modified(headers, CURRENT) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate", True),
        ("br;q=1.0, GZIP;q=0.5", True),
        ("gzip;q=0", False),
        ("deflate", False),
        ("", False),
    ],
)
def test_gzip_negotiation(header, expected):
    assert accepts_gzip(header) is expected


def write_event(folder: Path, uid: str) -> None:
    (folder / f"{uid}.ics").write_text(item(vevent(uid, f"SUMMARY:{uid}", "END:VEVENT\n")))


def test_feeds_are_cached_until_the_folder_changes_and_re_read_while_it_is_settling(tmp_path):
    configuration = config.load()
    configuration.update({"storage": {"filesystem_folder": str(tmp_path)}}, "test")
    folder = tmp_path / "collection-root" / "u" / "cal"
    folder.mkdir(parents=True)
    (folder / ".Radicale.props").write_text(json.dumps({"tag": "VCALENDAR"}))
    write_event(folder, "first")
    feeds = Feeds(configuration)
    assert b"first" in feeds.get("/u/cal/", only_busy=False).body
    # Radicale's first read adds its item cache folder, a change of its own.
    assert b"first" in feeds.get("/u/cal/", only_busy=False).body

    # A change in the same timestamp tick as the rendering: the folder mtime stays.
    moment = folder.stat().st_mtime_ns
    write_event(folder, "same-tick")
    os.utime(folder, ns=(moment, moment))
    assert b"same-tick" in feeds.get("/u/cal/", only_busy=False).body

    # Once the folder has been quiet, the rendering is kept: one stat per poll.
    quiet = time.time_ns() - 10 * SETTLE_NS
    os.utime(folder, ns=(quiet, quiet))
    settled = feeds.get("/u/cal/", only_busy=False)
    assert feeds.get("/u/cal/", only_busy=False) is settled
    write_event(folder, "later")
    assert b"later" in feeds.get("/u/cal/", only_busy=False).body
    assert feeds.get("/u/cal/", only_busy=True).body.count(b"SUMMARY:Busy") == 3
    assert feeds.get("/u/nothing/", only_busy=False) is None


def test_a_moved_occurrence_of_a_private_series_is_busy_only_whatever_its_own_class():
    master = DETAILED.replace("UID:detailed", "UID:series\nCLASS:PRIVATE")
    moved = vevent(
        "series",
        "RECURRENCE-ID:20270308T100000Z",
        "SUMMARY:Salary talk moved",
        "LOCATION:Room 7",
        "END:VEVENT\n",
        start="DTSTART:20270308T150000Z",
    )
    public_override = moved.replace("RECURRENCE-ID", "CLASS:PUBLIC\nRECURRENCE-ID")
    for override in (moved, public_override):
        text = feed.render([item(master, override)], "Cal", only_busy=False, uid_key=b"k")
        for secret in SECRETS:
            assert secret not in text
        shown = parsed(text).walk("VEVENT")
        assert [str(e["SUMMARY"]) for e in shown] == ["Busy", "Busy"]
        assert shown[1]["RECURRENCE-ID"].to_ical() == b"20270308T100000Z"


def test_busy_only_events_carry_a_keyed_stand_in_for_their_uid():
    moved = vevent("detailed", "RECURRENCE-ID:20270308T100000Z", "END:VEVENT\n")
    first = feed.render([item(DETAILED, moved)], "Cal", only_busy=True, uid_key=b"one")
    again = feed.render([item(DETAILED, moved)], "Cal", only_busy=True, uid_key=b"one")
    rotated = feed.render([item(DETAILED, moved)], "Cal", only_busy=True, uid_key=b"two")
    assert "detailed" not in first
    uids = {str(e["UID"]) for e in parsed(first).walk("VEVENT")}
    assert len(uids) == 1  # the series and its override stay together
    assert first == again
    assert uids.isdisjoint(str(e["UID"]) for e in parsed(rotated).walk("VEVENT"))
