"""The bounds of recurrence expansion (plugins/recurrence.py), on plain iCalendar text."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from plugins import recurrence

DECEMBER = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def calendar(rule: str, start: str = "20200101T090000Z") -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u\r\n"
        f"DTSTAMP:20200101T000000Z\r\nDTSTART:{start}\r\nDTEND:{start[:-2]}1Z\r\n"
        f"RRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


@pytest.mark.parametrize(
    ("rule", "start", "count"),
    [
        ("FREQ=DAILY", "19900101T090000Z", 31),  # long ago, but one step a day
        ("FREQ=WEEKLY;BYDAY=MO,TU", "20200101T090000Z", 9),
        ("FREQ=MINUTELY;COUNT=10", "20200101T090000Z", 0),  # ended long ago, cheaply
        ("FREQ=HOURLY;BYMINUTE=0,30", "20261201T000000Z", 1488),
    ],
)
def test_ordinary_series_are_expanded_in_full(rule, start, count):
    assert len(recurrence.occurrences(calendar(rule, start), *DECEMBER)) == count


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=SECONDLY", "20261130T000000Z"),  # 2.7 million in the window
        ("FREQ=SECONDLY;INTERVAL=3600", "19000101T000000Z"),  # few, after a century of steps
        ("FREQ=MINUTELY;COUNT=1000000000", "20200101T000000Z"),
        ("FREQ=YEARLY;BYDAY=MO;BYHOUR=1,2,3;BYMINUTE=1,2,3,4,5;BYSECOND=1,2,3", "20200101T000000Z"),
    ],
)
def test_series_over_the_bounds_keep_their_first_instance_only(rule, start):
    found = recurrence.occurrences(calendar(rule, start), *DECEMBER)
    since_1899 = (datetime(1899, 1, 1, tzinfo=UTC), DECEMBER[1])
    first = recurrence.occurrences(calendar(rule, start), *since_1899)
    assert found == []
    assert len(first) == 1


def test_the_parsed_calendar_is_not_changed():
    flood = calendar("FREQ=SECONDLY", "20261130T000000Z")
    recurrence.occurrences(flood, *DECEMBER)
    assert "RRULE" in flood.walk("VEVENT")[0]


@pytest.mark.parametrize(
    ("rule", "refused"),
    [
        ("FREQ=MINUTELY;COUNT=1000000000", True),
        ("FREQ=SECONDLY;UNTIL=20991231T000000Z", True),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=1000000", True),
        ("FREQ=SECONDLY", False),  # no end: Radicale indexes it at once
        ("FREQ=DAILY;UNTIL=21000101T000000Z", False),
        ("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", False),
    ],
)
def test_uploads_radicale_would_walk_for_hours_are_named(rule, refused):
    reason = recurrence.too_many_instances(calendar(rule))
    assert (reason is not None) == refused
    if refused:
        assert "max-instances" in reason
