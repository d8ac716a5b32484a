"""The busy index reads a flood of changed objects over several lookups, never all in one."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from plugins.availability import index


def event(number: int) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:e{number}\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:20270301T{number:02d}0000Z\r\n"
        f"DTEND:20270301T{number:02d}3000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def test_a_lookup_out_of_time_answers_with_what_it_read_and_the_next_goes_on(tmp_path, monkeypatch):
    for number in range(1, 4):
        (tmp_path / f"e{number}.ics").write_text(event(number))
    monkeypatch.setattr(index, "REFRESH_SECONDS", 0.0)  # time is up after the first object
    busy = index.BusyIndex()
    window = (datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC))
    found = [
        len(busy.periods(tmp_path, *window, ZoneInfo("UTC"), frozenset())) for _ in range(4)
    ]
    assert found == [1, 2, 3, 3]
