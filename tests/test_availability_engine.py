"""The availability engine as plain functions: busy periods, merging, slots, VFREEBUSY.

Every rule of issue 3 part 1 is one row of a table; the iCalendar data is written
by hand, times are Europe/Zurich unless a case says otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from plugins.availability.busy import BUSY, TENTATIVE, UNAVAILABLE, Period, busy_periods, merge
from plugins.availability.freebusy import vfreebusy
from plugins.availability.slots import WorkingHours, find_slots
from tests.ical_samples import central_european_vtimezone

ZURICH = ZoneInfo("Europe/Zurich")
NEW_YORK = ZoneInfo("America/New_York")
OWNER = frozenset({"mailto:bob@example.org"})

ZURICH_VTIMEZONE = central_european_vtimezone("Europe/Zurich")

# A zone no IANA database knows: only its VTIMEZONE says it is UTC+5.
OFFICE_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Office Time
BEGIN:STANDARD
TZOFFSETFROM:+0500
TZOFFSETTO:+0500
TZNAME:OFF
DTSTART:19700101T000000
END:STANDARD
END:VTIMEZONE
"""


def calendar(*components: str, timezones: str = ZURICH_VTIMEZONE) -> str:
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Murmeli tests//EN\n"
        + timezones
        + "".join(components)
        + "END:VCALENDAR\n"
    )


def event(*lines: str, uid: str = "e1") -> str:
    body = "\n".join(lines)
    return f"BEGIN:VEVENT\nUID:{uid}\nDTSTAMP:20270101T000000Z\nSUMMARY:x\n{body}\nEND:VEVENT\n"


def meeting(*extra: str) -> str:
    """Monday 1 March 2027, 10:00-11:00 in Zurich (09:00-10:00 UTC)."""
    return event(
        "DTSTART;TZID=Europe/Zurich:20270301T100000",
        "DTEND;TZID=Europe/Zurich:20270301T110000",
        *extra,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(text: str, zone: ZoneInfo = ZURICH) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def periods(*rows: tuple[str, str, str]) -> list[Period]:
    return [Period(utc(start), utc(end), kind) for start, end, kind in rows]


WEEKLY_ACROSS_DST = calendar(
    event(
        "DTSTART;TZID=Europe/Zurich:20270315T100000",
        "DTEND;TZID=Europe/Zurich:20270315T110000",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        uid="weekly",
    ),
    event(  # moved from Monday 22nd to Tuesday 23rd, 14:00
        "RECURRENCE-ID;TZID=Europe/Zurich:20270322T100000",
        "DTSTART;TZID=Europe/Zurich:20270323T140000",
        "DTEND;TZID=Europe/Zurich:20270323T150000",
        uid="weekly",
    ),
    event(  # cancelled on 5 April
        "RECURRENCE-ID;TZID=Europe/Zurich:20270405T100000",
        "DTSTART;TZID=Europe/Zurich:20270405T100000",
        "DTEND;TZID=Europe/Zurich:20270405T110000",
        "STATUS:CANCELLED",
        uid="weekly",
    ),
)

BUSY_CASES = {
    "utc": (
        calendar(event("DTSTART:20270301T100000Z", "DTEND:20270301T110000Z")),
        ZURICH,
        periods(("2027-03-01T10:00", "2027-03-01T11:00", BUSY)),
    ),
    "tzid with vtimezone": (
        calendar(meeting()),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", BUSY)),
    ),
    "tzid known only from its vtimezone": (
        calendar(
            event(
                "DTSTART;TZID=Office Time:20270301T100000",
                "DTEND;TZID=Office Time:20270301T110000",
            ),
            timezones=OFFICE_VTIMEZONE,
        ),
        ZURICH,
        periods(("2027-03-01T05:00", "2027-03-01T06:00", BUSY)),
    ),
    "floating time in the organiser's zone (Zurich)": (
        calendar(event("DTSTART:20270301T100000", "DTEND:20270301T110000")),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", BUSY)),
    ),
    "floating time in the organiser's zone (New York)": (
        calendar(event("DTSTART:20270301T100000", "DTEND:20270301T110000")),
        NEW_YORK,
        periods(("2027-03-01T15:00", "2027-03-01T16:00", BUSY)),
    ),
    "crossing midnight": (
        calendar(
            event(
                "DTSTART;TZID=Europe/Zurich:20270301T230000",
                "DTEND;TZID=Europe/Zurich:20270302T010000",
            )
        ),
        ZURICH,
        periods(("2027-03-01T22:00", "2027-03-02T00:00", BUSY)),
    ),
    "across the DST change night: two wall-clock hours, one real hour": (
        calendar(
            event(
                "DTSTART;TZID=Europe/Zurich:20270328T013000",
                "DTEND;TZID=Europe/Zurich:20270328T033000",
            )
        ),
        ZURICH,
        periods(("2027-03-28T00:30", "2027-03-28T01:30", BUSY)),
    ),
    "weekly across DST with one moved and one cancelled occurrence": (
        WEEKLY_ACROSS_DST,
        ZURICH,
        periods(
            ("2027-03-15T09:00", "2027-03-15T10:00", BUSY),  # CET
            ("2027-03-23T13:00", "2027-03-23T14:00", BUSY),  # moved
            ("2027-03-29T08:00", "2027-03-29T09:00", BUSY),  # CEST: still 10:00 local
            ("2027-04-12T08:00", "2027-04-12T09:00", BUSY),  # 5 April cancelled
        ),
    ),
    "rdate and exdate": (
        calendar(
            event(
                "DTSTART:20270301T100000Z",
                "DTEND:20270301T110000Z",
                "RRULE:FREQ=DAILY;COUNT=3",
                "EXDATE:20270302T100000Z",
                "RDATE:20270310T100000Z",
            )
        ),
        ZURICH,
        periods(
            ("2027-03-01T10:00", "2027-03-01T11:00", BUSY),
            ("2027-03-03T10:00", "2027-03-03T11:00", BUSY),
            ("2027-03-10T10:00", "2027-03-10T11:00", BUSY),
        ),
    ),
    "cancelled event": (calendar(meeting("STATUS:CANCELLED")), ZURICH, []),
    "transparent event": (calendar(meeting("TRANSP:TRANSPARENT")), ZURICH, []),
    "declined by the owner": (
        calendar(meeting("ATTENDEE;PARTSTAT=DECLINED:MAILTO:Bob@Example.org")),
        ZURICH,
        [],
    ),
    "declined by someone else": (
        calendar(
            meeting(
                "ATTENDEE;PARTSTAT=DECLINED:mailto:carol@example.org",
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org",
            )
        ),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", BUSY)),
    ),
    "tentatively accepted by the owner": (
        calendar(meeting("ATTENDEE;PARTSTAT=TENTATIVE:mailto:bob@example.org")),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", TENTATIVE)),
    ),
    "not yet answered by the owner": (
        calendar(meeting("ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@example.org")),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", BUSY)),
    ),
    "tentative event": (
        calendar(meeting("STATUS:TENTATIVE")),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", TENTATIVE)),
    ),
    "outlook out of office": (
        calendar(meeting("X-MICROSOFT-CDO-BUSYSTATUS:OOF")),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", UNAVAILABLE)),
    ),
    "outlook tentative": (
        calendar(meeting("X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE")),
        ZURICH,
        periods(("2027-03-01T09:00", "2027-03-01T10:00", TENTATIVE)),
    ),
    "outlook free beats opaque": (
        calendar(meeting("TRANSP:OPAQUE", "X-MICROSOFT-CDO-BUSYSTATUS:FREE")),
        ZURICH,
        [],
    ),
    "all-day without TRANSP is a memo": (
        calendar(event("DTSTART;VALUE=DATE:20270301", "DTEND;VALUE=DATE:20270302")),
        ZURICH,
        [],
    ),
    "all-day transparent": (
        calendar(
            event("DTSTART;VALUE=DATE:20270301", "DTEND;VALUE=DATE:20270302", "TRANSP:TRANSPARENT")
        ),
        ZURICH,
        [],
    ),
    "all-day opaque blocks the day in the organiser's zone": (
        calendar(
            event("DTSTART;VALUE=DATE:20270301", "DTEND;VALUE=DATE:20270302", "TRANSP:OPAQUE")
        ),
        ZURICH,
        periods(("2027-02-28T23:00", "2027-03-01T23:00", BUSY)),
    ),
    "all-day opaque over three days": (
        calendar(
            event("DTSTART;VALUE=DATE:20270301", "DTEND;VALUE=DATE:20270304", "TRANSP:OPAQUE")
        ),
        NEW_YORK,
        periods(("2027-03-01T05:00", "2027-03-04T05:00", BUSY)),
    ),
    "all-day outlook out of office without TRANSP": (
        calendar(
            event(
                "DTSTART;VALUE=DATE:20270301",
                "DTEND;VALUE=DATE:20270302",
                "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
            )
        ),
        ZURICH,
        periods(("2027-02-28T23:00", "2027-03-01T23:00", UNAVAILABLE)),
    ),
    "all-day opaque without DTEND lasts one day": (
        calendar(event("DTSTART;VALUE=DATE:20270301", "TRANSP:OPAQUE")),
        ZURICH,
        periods(("2027-02-28T23:00", "2027-03-01T23:00", BUSY)),
    ),
    "duration instead of DTEND": (
        calendar(event("DTSTART:20270301T100000Z", "DURATION:PT90M")),
        ZURICH,
        periods(("2027-03-01T10:00", "2027-03-01T11:30", BUSY)),
    ),
    "date-time start without end or duration takes no time": (
        calendar(event("DTSTART:20270301T100000Z")),
        ZURICH,
        [],
    ),
    "todo and journal make nobody busy": (
        calendar(
            "BEGIN:VTODO\nUID:t\nDTSTAMP:20270101T000000Z\nDTSTART:20270301T100000Z\n"
            "DUE:20270301T110000Z\nEND:VTODO\n",
            "BEGIN:VJOURNAL\nUID:j\nDTSTAMP:20270101T000000Z\nDTSTART:20270301T100000Z\n"
            "END:VJOURNAL\n",
        ),
        ZURICH,
        [],
    ),
    "vfreebusy component with its FBTYPEs": (
        calendar(
            "BEGIN:VFREEBUSY\nUID:f\nDTSTAMP:20270101T000000Z\n"
            "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270301T100000Z/20270301T110000Z,"
            "20270302T100000Z/PT30M\n"
            "FREEBUSY;FBTYPE=FREE:20270303T100000Z/20270303T110000Z\n"
            "FREEBUSY;FBTYPE=X-ODD:20270304T100000Z/20270304T110000Z\n"
            "FREEBUSY:20270305T100000Z/20270305T110000Z\n"
            "END:VFREEBUSY\n"
        ),
        ZURICH,
        periods(
            ("2027-03-01T10:00", "2027-03-01T11:00", TENTATIVE),
            ("2027-03-02T10:00", "2027-03-02T10:30", TENTATIVE),
            ("2027-03-04T10:00", "2027-03-04T11:00", BUSY),
            ("2027-03-05T10:00", "2027-03-05T11:00", BUSY),
        ),
    ),
    "series without DTSTART is skipped, not an error": (
        calendar(event("DTEND:20270301T110000Z", "RRULE:FREQ=DAILY")),
        ZURICH,
        [],
    ),
    "outside the window": (
        calendar(event("DTSTART:20270601T100000Z", "DTEND:20270601T110000Z")),
        ZURICH,
        [],
    ),
}


@pytest.mark.parametrize(("ics", "zone", "expected"), BUSY_CASES.values(), ids=BUSY_CASES.keys())
def test_busy_periods(ics: str, zone: ZoneInfo, expected: list[Period]) -> None:
    assert busy_periods(ics, utc("2027-02-01T00:00"), utc("2027-05-01T00:00"), zone, OWNER) == (
        expected
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2027-03-01T09:30", "2027-03-01T12:00", [("2027-03-01T09:30", "2027-03-01T10:00")]),
        ("2027-03-01T08:00", "2027-03-01T09:30", [("2027-03-01T09:00", "2027-03-01T09:30")]),
        ("2027-03-01T10:00", "2027-03-01T12:00", []),
        ("2027-03-01T07:00", "2027-03-01T09:00", []),
    ],
    ids=["window starts inside", "window ends inside", "ends at window start", "starts at end"],
)
def test_busy_periods_are_clipped_to_the_window(
    start: str, end: str, expected: list[tuple[str, str]]
) -> None:
    found = busy_periods(calendar(meeting()), utc(start), utc(end), ZURICH)
    assert [(p.start, p.end) for p in found] == [(utc(s), utc(e)) for s, e in expected]


def test_busy_periods_read_bytes_with_crlf_and_parsed_calendars() -> None:
    text = calendar(meeting()).replace("\n", "\r\n")
    window = (utc("2027-03-01T00:00"), utc("2027-03-02T00:00"))
    expected = periods(("2027-03-01T09:00", "2027-03-01T10:00", BUSY))
    assert busy_periods(text.encode(), *window, ZURICH) == expected
    assert busy_periods(icalendar.Calendar.from_ical(text), *window, ZURICH) == expected


def test_busy_periods_refuse_text_that_is_not_icalendar() -> None:
    with pytest.raises(ValueError):
        busy_periods("not a calendar", utc("2027-03-01T00:00"), utc("2027-03-02T00:00"), ZURICH)


MERGE_CASES = {
    "nothing": ([], []),
    "overlapping, one kind": (
        [("10:00", "11:00", BUSY), ("10:30", "12:00", BUSY)],
        [("10:00", "12:00", BUSY)],
    ),
    "touching, one kind": (
        [("11:00", "12:00", BUSY), ("10:00", "11:00", BUSY)],
        [("10:00", "12:00", BUSY)],
    ),
    "apart": (
        [("13:00", "14:00", BUSY), ("10:00", "11:00", TENTATIVE)],
        [("10:00", "11:00", TENTATIVE), ("13:00", "14:00", BUSY)],
    ),
    "busy inside tentative splits it": (
        [("10:00", "13:00", TENTATIVE), ("11:00", "12:00", BUSY)],
        [("10:00", "11:00", TENTATIVE), ("11:00", "12:00", BUSY), ("12:00", "13:00", TENTATIVE)],
    ),
    "tentative inside busy disappears": (
        [("10:00", "13:00", BUSY), ("11:00", "12:00", TENTATIVE)],
        [("10:00", "13:00", BUSY)],
    ),
    "unavailable beats busy": (
        [("10:00", "12:00", BUSY), ("11:00", "13:00", UNAVAILABLE)],
        [("10:00", "11:00", BUSY), ("11:00", "13:00", UNAVAILABLE)],
    ),
    "all three stacked": (
        [("09:00", "15:00", TENTATIVE), ("10:00", "14:00", BUSY), ("11:00", "12:00", UNAVAILABLE)],
        [
            ("09:00", "10:00", TENTATIVE),
            ("10:00", "11:00", BUSY),
            ("11:00", "12:00", UNAVAILABLE),
            ("12:00", "14:00", BUSY),
            ("14:00", "15:00", TENTATIVE),
        ],
    ),
}


def on_first_march(*rows: tuple[str, str, str]) -> list[Period]:
    return periods(*((f"2027-03-01T{s}", f"2027-03-01T{e}", kind) for s, e, kind in rows))


@pytest.mark.parametrize(("given", "expected"), MERGE_CASES.values(), ids=MERGE_CASES.keys())
def test_merge(given: list, expected: list) -> None:
    assert merge(on_first_march(*given)) == on_first_march(*expected)


OFFICE = WorkingHours(frozenset(range(5)), time(8), time(18), ZURICH)

# (busy periods in Zurich on Monday 1 March 2027 unless dated, desired, duration in minutes,
#  window, working hours, count, expected starts)
SLOT_CASES = {
    "issue example: busy 12:00-12:30, 11:45 for an hour gives 12:30": (
        [("12:00", "12:30", BUSY)],
        "2027-03-01T11:45",
        60,
        None,
        None,
        4,
        ["2027-03-01T12:30", "2027-03-01T11:00", "2027-03-01T12:45", "2027-03-01T10:45"],
    ),
    "desired start free": ([], "2027-03-01T11:45", 60, None, None, 1, ["2027-03-01T11:45"]),
    "busy end off the grid is a candidate": (
        [("11:30", "12:10", BUSY)],
        "2027-03-01T11:45",
        60,
        None,
        None,
        2,
        ["2027-03-01T12:10", "2027-03-01T12:15"],
    ),
    "tentative time blocks too": (
        [("11:00", "13:00", TENTATIVE)],
        "2027-03-01T11:45",
        60,
        None,
        None,
        1,
        ["2027-03-01T13:00"],
    ),
    "ending when the next meeting starts": (
        [("12:50", "15:00", BUSY)],
        "2027-03-01T12:00",
        60,
        None,
        None,
        1,
        ["2027-03-01T11:50"],
    ),
    "gap too short is skipped": (
        [("10:00", "12:00", BUSY), ("12:30", "14:00", UNAVAILABLE)],
        "2027-03-01T12:00",
        60,
        None,
        None,
        1,
        ["2027-03-01T14:00"],
    ),
    "working hours: 17:30 for an hour ends after 18:00": (
        [],
        "2027-03-01T17:30",
        60,
        None,
        OFFICE,
        1,
        ["2027-03-01T17:00"],
    ),
    "working hours: Saturday gives Friday evening, not Monday morning": (
        [],
        "2027-03-06T10:00",
        60,
        None,
        OFFICE,
        2,
        ["2027-03-05T17:00", "2027-03-05T16:45"],
    ),
    "working hours: start of the day is a candidate": (
        [("08:00", "18:00", BUSY)],
        "2027-03-01T19:10",
        60,
        None,
        OFFICE,
        1,
        ["2027-03-02T08:00"],
    ),
    "window start: nothing before it": (
        [],
        "2027-03-01T11:45",
        60,
        ("2027-03-01T12:00", "2027-03-02T00:00"),
        None,
        2,
        ["2027-03-01T12:00", "2027-03-01T12:15"],
    ),
    "window start is not itself a candidate off the grid": (
        [],
        "2027-03-01T11:50",
        60,
        ("2027-03-01T12:00", "2027-03-02T00:00"),
        None,
        1,
        ["2027-03-01T12:05"],
    ),
    "window end: the meeting must end inside": (
        [],
        "2027-03-01T17:30",
        60,
        ("2027-03-01T08:00", "2027-03-01T18:00"),
        None,
        1,
        ["2027-03-01T17:00"],
    ),
    "no free slot": (
        [("08:00", "18:00", BUSY)],
        "2027-03-01T11:45",
        60,
        ("2027-03-01T08:00", "2027-03-01T18:00"),
        None,
        4,
        [],
    ),
    "grid across the DST change keeps real minutes": (
        [("2027-03-28T00:00", "2027-03-28T03:30", BUSY)],
        "2027-03-28T01:45",
        60,
        None,
        None,
        1,
        ["2027-03-28T03:30"],
    ),
}


def zurich_period(start: str, end: str, kind: str) -> Period:
    def moment(text: str) -> datetime:
        return local(text if "T" in text else f"2027-03-01T{text}").astimezone(UTC)

    return Period(moment(start), moment(end), kind)


@pytest.mark.parametrize(
    ("busy", "desired", "minutes", "window", "hours", "count", "expected"),
    SLOT_CASES.values(),
    ids=SLOT_CASES.keys(),
)
def test_find_slots(busy, desired, minutes, window, hours, count, expected) -> None:
    wanted = local(desired)
    window_start, window_end = (
        (local(window[0]), local(window[1]))
        if window
        else (wanted - timedelta(days=7), wanted + timedelta(days=7))
    )
    found = find_slots(
        [zurich_period(*row) for row in busy],
        wanted,
        timedelta(minutes=minutes),
        window_start,
        window_end,
        hours,
        count=count,
    )
    assert found == [local(start) for start in expected]
    assert all(start.tzinfo is ZURICH for start in found)


def test_find_slots_answers_in_the_desired_zone() -> None:
    desired = local("2027-03-01T11:45").astimezone(NEW_YORK)
    busy = [zurich_period("12:00", "12:30", BUSY)]
    window = (desired - timedelta(days=1), desired + timedelta(days=1))
    [best] = find_slots(busy, desired, timedelta(hours=1), *window, count=1)
    assert best.tzinfo is NEW_YORK
    assert best == local("2027-03-01T12:30")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"desired": datetime(2027, 3, 1, 11, 45)}, "desired"),
        ({"duration": timedelta()}, "duration"),
        ({"step": timedelta()}, "step"),
        ({"count": -1}, "count"),
    ],
    ids=["naive desired", "empty duration", "empty step", "negative count"],
)
def test_find_slots_refuses_nonsense(change: dict, message: str) -> None:
    arguments = {
        "busy": [],
        "desired": local("2027-03-01T11:45"),
        "duration": timedelta(hours=1),
        "window_start": local("2027-03-01T00:00"),
        "window_end": local("2027-03-02T00:00"),
    } | change
    with pytest.raises(ValueError, match=message):
        find_slots(**arguments)


def test_working_hours_need_valid_days() -> None:
    with pytest.raises(ValueError, match="days"):
        WorkingHours(frozenset({7}), time(8), time(18), ZURICH)


def test_vfreebusy_reply() -> None:
    busy = on_first_march(
        ("07:00", "09:00", BUSY),
        ("08:30", "10:00", BUSY),
        ("12:00", "13:00", TENTATIVE),
        ("15:00", "16:00", UNAVAILABLE),
        ("23:00", "23:59", BUSY),
    )
    stamp = utc("2027-02-01T00:00")
    reply = vfreebusy(
        "bob@example.org",
        "mailto:alice@example.org",
        local("2027-03-01T09:00"),
        utc("2027-03-01T20:00"),
        busy,
        uid="reply-1",
        stamp=stamp,
    )
    parsed = icalendar.Calendar.from_ical(reply.to_ical())
    assert parsed["METHOD"] == "REPLY"
    assert parsed["PRODID"]
    [component] = parsed.walk("VFREEBUSY")
    assert str(component["ATTENDEE"]) == "mailto:bob@example.org"
    assert str(component["ORGANIZER"]) == "mailto:alice@example.org"
    assert component["UID"] == "reply-1"
    assert component["DTSTAMP"].dt == stamp
    assert component["DTSTART"].dt == utc("2027-03-01T08:00")
    assert component["DTEND"].dt == utc("2027-03-01T20:00")
    lines = [line for line in reply.to_ical().decode().splitlines() if line.startswith("FREEBUSY")]
    assert lines == [
        "FREEBUSY;FBTYPE=BUSY:20270301T080000Z/20270301T100000Z",
        "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270301T120000Z/20270301T130000Z",
        "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20270301T150000Z/20270301T160000Z",
    ]


def test_vfreebusy_without_organizer_or_periods() -> None:
    reply = vfreebusy(
        "mailto:bob@example.org", None, utc("2027-03-01T00:00"), utc("2027-03-02T00:00"), []
    )
    [component] = reply.walk("VFREEBUSY")
    assert "ORGANIZER" not in component
    assert "FREEBUSY" not in component
    assert component["UID"] and component["DTSTAMP"]
