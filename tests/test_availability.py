"""Availability lookup against the real server: data written with the ``caldav`` library,
answers read from ``POST /api/availability`` and ``murmeli availability --json``."""

from __future__ import annotations

import json

import caldav
import icalendar
import pytest
import requests

from tests.ical_samples import central_european_vtimezone
from tests.murmeli_process import MurmeliServer

ZONE = "Europe/Zurich"
VTIMEZONE = central_european_vtimezone("Europe/Zurich").rstrip("\n")


def event(uid: str, start: str, end: str, summary: str = "Secret topic", extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Murmeli tests//EN\n"
        f"{VTIMEZONE}\nBEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20270101T000000Z\n"
        f"DTSTART;TZID={ZONE}:{start}\nDTEND;TZID={ZONE}:{end}\nSUMMARY:{summary}\n"
        f"{extra}END:VEVENT\nEND:VCALENDAR\n"
    )


def calendar_of(server: MurmeliServer, auth: tuple[str, str]) -> caldav.Calendar:
    client = caldav.DAVClient(url=server.url, username=auth[0], password=auth[1], auth_type="basic")
    return client.principal().calendar(cal_url=f"/{auth[0]}/calendar/")


def ask(server: MurmeliServer, organiser: tuple[str, str], **body) -> dict:
    body.setdefault("timezone", ZONE)
    answer = requests.post(f"{server.url}/api/availability", json=body, auth=organiser)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def people(server: MurmeliServer) -> dict[str, tuple[str, str]]:
    names = {
        "alice": server.add_user("alice"),
        "bob": server.add_user("bob"),
        "carol": server.add_user("carol"),
        "guest": server.add_user("guest", role="external"),
        "stranger": server.add_user("stranger", role="external"),
    }
    for auth in names.values():
        calendar_of(server, auth)  # the first login provisions the calendar
    shared = server.cli(
        "share", "add", f"/{names['guest'][0]}/calendar/", "--with", names["alice"][0], "--freebusy"
    )
    assert shared.returncode == 0, shared.stderr
    return names


@pytest.fixture
def bob_busy_at_noon(server: MurmeliServer, people) -> None:
    """Bob's meeting on 1 March 2027, 12:00-12:30 in Zurich (saving it again changes nothing)."""
    calendar_of(server, people["bob"]).save_event(
        event("bob-1", "20270301T120000", "20270301T123000")
    )


def test_nearest_free_start_after_a_conflict(server, people, bob_busy_at_noon):
    answer = ask(
        server,
        people["alice"],
        attendees=[people["bob"][0]],
        start="2027-03-01T11:45",
        duration=60,
    )
    assert answer["best"] == "2027-03-01T12:30:00+01:00"
    assert answer["busy"][people["bob"][0]] == [
        {"start": "2027-03-01T12:00:00+01:00", "end": "2027-03-01T12:30:00+01:00", "type": "BUSY"}
    ]
    assert "Secret topic" not in json.dumps(answer)
    assert answer["unknown"] == []


def test_moving_an_event_changes_the_answer_at_once(server, people):
    calendar = calendar_of(server, people["carol"])
    calendar.save_event(event("carol-1", "20270302T090000", "20270302T100000"))
    first = ask(
        server,
        people["alice"],
        attendees=[people["carol"][0]],
        start="2027-03-02T09:00",
        duration="1h",
    )
    assert first["best"] == "2027-03-02T10:00:00+01:00"

    moved = calendar.event_by_uid("carol-1")
    moved.data = event("carol-1", "20270302T140000", "20270302T150000")
    moved.save()
    second = ask(
        server,
        people["alice"],
        attendees=[people["carol"][0]],
        start="2027-03-02T09:00",
        duration="1h",
    )
    assert second["best"] == "2027-03-02T09:00:00+01:00"


def test_recurring_meeting_with_moved_and_cancelled_occurrences(server, people):
    weekly = event(
        "bob-weekly",
        "20270315T100000",
        "20270315T110000",
        extra="RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE;TZID=Europe/Zurich:20270322T100000\n",
    )
    moved = (
        "BEGIN:VEVENT\nUID:bob-weekly\nDTSTAMP:20270101T000000Z\n"
        "RECURRENCE-ID;TZID=Europe/Zurich:20270329T100000\n"
        "DTSTART;TZID=Europe/Zurich:20270329T150000\nDTEND;TZID=Europe/Zurich:20270329T160000\n"
        "SUMMARY:Moved\nEND:VEVENT\n"
    )
    calendar_of(server, people["bob"]).save_event(
        weekly.replace("END:VCALENDAR", moved + "END:VCALENDAR")
    )
    bob = people["bob"][0]
    busy = ask(
        server,
        people["alice"],
        attendees=[bob],
        start="2027-03-22T10:00",
        duration=60,
        window="14d",
    )["busy"][bob]
    starts = [period["start"] for period in busy if period["start"] >= "2027-03-14"]
    assert "2027-03-15T10:00:00+01:00" in starts
    assert not any(start.startswith("2027-03-22") for start in starts)  # EXDATE
    assert "2027-03-29T15:00:00+02:00" in starts  # moved, after the DST change
    assert "2027-03-29T10:00:00+02:00" not in starts


def test_unknown_attendees_are_named_with_the_reason(server, people):
    answer = ask(
        server,
        people["alice"],
        attendees=["nobody@example.org", people["stranger"][0], people["guest"][0]],
        start="2027-03-03T10:00",
        duration=30,
    )
    reasons = {entry["attendee"]: entry["reason"] for entry in answer["unknown"]}
    assert reasons == {
        "nobody@example.org": "no such user here",
        people["stranger"][0]: "does not share a calendar with the organiser",
    }
    assert people["guest"][0] in answer["busy"]


def test_external_sees_nothing_that_was_not_shared_with_them(server, people):
    answer = ask(
        server,
        people["stranger"],
        attendees=[people["bob"][0]],
        start="2027-03-01T11:45",
        duration=60,
    )
    assert [entry["attendee"] for entry in answer["unknown"]] == [people["bob"][0]]
    assert people["bob"][0] not in answer["busy"]


def test_answer_as_vfreebusy(server, people, bob_busy_at_noon):
    answer = requests.post(
        f"{server.url}/api/availability",
        json={
            "attendees": [people["bob"][0]],
            "start": "2027-03-01T11:45",
            "duration": 60,
            "timezone": ZONE,
        },
        auth=people["alice"],
        headers={"Accept": "text/calendar"},
    )
    assert answer.headers["Content-Type"].startswith("text/calendar")
    components = icalendar.Calendar.from_ical(answer.content).walk("VFREEBUSY")
    assert len(components) == 2  # the organiser and bob
    busy_lines = [str(fb.to_ical()) for c in components for fb in _as_list(c.get("FREEBUSY"))]
    assert any("20270301T110000Z/20270301T113000Z" in line for line in busy_lines)
    assert b"Secret topic" not in answer.content


def _as_list(value) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def test_cli_answers_in_json(server, people, bob_busy_at_noon):
    result = server.cli(
        "availability",
        "--organiser",
        people["alice"][0],
        "--attendees",
        people["bob"][0],
        "--start",
        "2027-03-01T11:45",
        "--duration",
        "60m",
        "--timezone",
        ZONE,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["best"] == "2027-03-01T12:30:00+01:00"
    assert set(answer) >= {"best", "alternatives", "busy", "unknown"}
    assert all(alternative != answer["best"] for alternative in answer["alternatives"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"start": "2027-03-01T11:45", "duration": 60}, "attendees"),
        ({"attendees": ["x"], "duration": 60}, "start"),
        ({"attendees": ["x"], "start": "soon", "duration": 60}, "start"),
        ({"attendees": ["x"], "start": "2027-03-01T11:45", "duration": "forever"}, "duration"),
        (
            {
                "attendees": ["x"],
                "start": "2027-03-01T11:45",
                "duration": 60,
                "timezone": "Mars/Base",
            },
            "timezone",
        ),
        (
            {"attendees": ["x"], "start": "2027-03-01T11:45", "duration": 60, "window": "400d"},
            "window",
        ),
        (
            {
                "attendees": ["x"],
                "start": "2027-03-01T11:45",
                "duration": 60,
                "working_hours": "always",
            },
            "working_hours",
        ),
    ],
)
def test_bad_requests_name_the_field(server, people, body, reason):
    answer = requests.post(f"{server.url}/api/availability", json=body, auth=people["alice"])
    assert answer.status_code == 400
    assert reason in answer.json()["error"]


def test_cli_bad_input_exits_2(server, people):
    result = server.cli(
        "availability",
        "--organiser",
        people["alice"][0],
        "--attendees",
        "x",
        "--start",
        "tomorrow",
        "--duration",
        "60m",
    )
    assert result.returncode == 2
    assert "start" in result.stderr
    assert "Traceback" not in result.stderr


def test_working_hours_restrict_the_answer(server, people):
    answer = ask(
        server,
        people["alice"],
        attendees=[people["bob"][0]],
        start="2027-03-05T17:30",
        duration=60,
        working_hours="Mon-Fri 08:00-18:00",
    )
    assert answer["best"] == "2027-03-05T17:00:00+01:00"
    saturday = ask(
        server,
        people["alice"],
        attendees=[people["bob"][0]],
        start="2027-03-06T10:00",
        duration=60,
        working_hours="Mon-Fri 08:00-18:00",
        alternatives=1,
    )
    assert saturday["best"] == "2027-03-05T17:00:00+01:00"
    assert saturday["alternatives"] == ["2027-03-05T16:45:00+01:00"]


def test_members_without_a_calendar_yet_are_named_as_such_and_the_organiser_is_not(server):
    organiser, newcomer = server.add_user("neworg"), server.add_user("newcomer")
    result = server.cli(
        "availability", "--organiser", organiser[0], "--attendees", newcomer[0],
        "--start", "2027-03-01T11:45", "--duration", "60m", "--timezone", ZONE, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["unknown"] == [{"attendee": newcomer[0], "reason": "has no calendar yet"}]
    assert answer["best"] == "2027-03-01T11:45:00+01:00"
