"""When alarms fire: ``plugins.reminders.alarms`` on iCalendar text, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plugins.reminders.alarms import CHAT, EMAIL, firings, may_fire


def calendar(*components: str) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Murmeli tests//EN"]
    return "\r\n".join([*head, *components, "END:VCALENDAR", ""])


def vevent(*lines: str, uid: str = "e1", alarms: tuple[str, ...] = ()) -> str:
    return "\r\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20270101T000000Z", *lines, *alarms, "END:VEVENT"]
    )


def valarm(*lines: str, action: str = "EMAIL") -> str:
    extra = ["SUMMARY:r", "DESCRIPTION:r", "ATTENDEE:mailto:a@example.org"]
    return "\r\n".join(["BEGIN:VALARM", f"ACTION:{action}", *lines, *extra, "END:VALARM"])


MEETING = (
    "DTSTART;TZID=Europe/Berlin:20270301T100000",
    "DTEND;TZID=Europe/Berlin:20270301T110000",
    "SUMMARY:Board meeting",
    "LOCATION:Room 4",
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def times(text: str, after: datetime, until: datetime) -> list[datetime]:
    return [firing.at for firing in firings(text, after, until)]


DAY = (utc(2027, 2, 28), utc(2027, 3, 3))


def test_relative_to_start_fires_before_the_event_with_its_details():
    text = calendar(vevent(*MEETING, alarms=(valarm("TRIGGER:-PT15M"),)))
    (firing,) = firings(text, *DAY)
    assert firing.at == utc(2027, 3, 1, 8, 45)  # 09:45 in Berlin
    assert firing.summary == "Board meeting"
    assert firing.location == "Room 4"
    assert str(firing.start.tzinfo) == "Europe/Berlin"
    assert firing.start.hour == 10
    assert firing.channels == {EMAIL}
    assert not firing.repeats


def test_the_window_is_open_before_and_closed_after():
    text = calendar(vevent(*MEETING, alarms=(valarm("TRIGGER:-PT15M"),)))
    at = utc(2027, 3, 1, 8, 45)
    assert times(text, at - timedelta(minutes=1), at) == [at]
    assert times(text, at, at + timedelta(minutes=1)) == []
    assert times(text, at - timedelta(minutes=5), at - timedelta(seconds=1)) == []


def test_relative_to_end():
    text = calendar(vevent(*MEETING, alarms=(valarm("TRIGGER;RELATED=END:PT5M"),)))
    assert times(text, *DAY) == [utc(2027, 3, 1, 10, 5)]


def test_relative_to_end_of_an_event_given_a_duration():
    lines = ("DTSTART:20270301T090000Z", "DURATION:PT2H", "SUMMARY:Long")
    text = calendar(vevent(*lines, alarms=(valarm("TRIGGER;RELATED=END:-PT10M"),)))
    assert times(text, *DAY) == [utc(2027, 3, 1, 10, 50)]


def test_absolute_trigger():
    text = calendar(vevent(*MEETING, alarms=(valarm("TRIGGER;VALUE=DATE-TIME:20270228T180000Z"),)))
    assert times(text, *DAY) == [utc(2027, 2, 28, 18)]


def test_recurring_event_fires_per_occurrence_with_moved_and_cancelled_ones():
    master = vevent(
        *MEETING,
        "RRULE:FREQ=DAILY;COUNT=4",
        "EXDATE;TZID=Europe/Berlin:20270303T100000",
        alarms=(valarm("TRIGGER:-PT15M"),),
    )
    moved = vevent(
        "RECURRENCE-ID;TZID=Europe/Berlin:20270302T100000",
        "DTSTART;TZID=Europe/Berlin:20270302T140000",
        "DTEND;TZID=Europe/Berlin:20270302T150000",
        "SUMMARY:Board meeting (moved)",
        alarms=(valarm("TRIGGER:-PT15M"),),
    )
    found = firings(calendar(master, moved), utc(2027, 2, 28), utc(2027, 3, 10))
    assert [f.at for f in found] == [
        utc(2027, 3, 1, 8, 45),
        utc(2027, 3, 2, 12, 45),
        utc(2027, 3, 4, 8, 45),
    ]
    assert found[1].summary == "Board meeting (moved)"
    assert len({f.key for f in found}) == 3
    assert found[1].recurrence_id == "2027-03-02T09:00:00+00:00"


def test_repetitions_follow_the_duration_and_stop_after_the_count():
    alarm = valarm("TRIGGER:-PT1H", "REPEAT:3", "DURATION:PT20M")
    text = calendar(vevent(*MEETING, alarms=(alarm,)))
    found = firings(text, *DAY)
    assert [f.at for f in found] == [
        utc(2027, 3, 1, 8) + timedelta(minutes=20 * n) for n in range(4)
    ]
    assert [f.repetition for f in found] == [0, 1, 2, 3]
    assert all(f.repeats for f in found)
    assert len({f.alarm_key for f in found}) == 1


def test_an_until_stopped_alarm_is_found_by_arithmetic_long_after_the_event():
    alarm = valarm("TRIGGER:-PT1H", "REPEAT:100000", "DURATION:PT1H")
    text = calendar(vevent(*MEETING, alarms=(alarm,)))
    later = utc(2028, 6, 1, 12, 30)
    found = firings(text, later, later + timedelta(hours=2))
    assert [f.at for f in found] == [utc(2028, 6, 1, 13), utc(2028, 6, 1, 14)]


def test_display_alarms_stay_with_clients_unless_marked_for_chat():
    display = valarm("TRIGGER:-PT15M", action="DISPLAY")
    chat = valarm("TRIGGER:-PT10M", "X-MURMELI-CHAT:TRUE", action="DISPLAY")
    text = calendar(vevent(*MEETING, alarms=(display, chat)))
    (firing,) = firings(text, *DAY)
    assert firing.channels == {CHAT}
    assert firing.alarm == "1"
    assert not may_fire(calendar(vevent(*MEETING, alarms=(display,))))


def test_email_alarm_marked_for_chat_goes_both_ways():
    alarm = valarm("TRIGGER:-PT15M", "X-MURMELI-CHAT:TRUE")
    (firing,) = firings(calendar(vevent(*MEETING, alarms=(alarm,))), *DAY)
    assert firing.channels == {EMAIL, CHAT}


def test_all_day_event_fires_relative_to_midnight_utc():
    lines = ("DTSTART;VALUE=DATE:20270302", "DTEND;VALUE=DATE:20270303", "SUMMARY:Holiday")
    text = calendar(vevent(*lines, alarms=(valarm("TRIGGER:-PT12H"),)))
    assert times(text, *DAY) == [utc(2027, 3, 1, 12)]


def test_moving_the_event_moves_the_firing_and_changes_its_key():
    before = calendar(vevent(*MEETING, alarms=(valarm("TRIGGER:-PT15M"),)))
    moved_meeting = [line.replace("T10", "T16").replace("T11", "T17") for line in MEETING]
    after = calendar(vevent(*moved_meeting, alarms=(valarm("TRIGGER:-PT15M"),)))
    (old,) = firings(before, *DAY)
    (new,) = firings(after, *DAY)
    assert new.at == old.at + timedelta(hours=6)
    assert new.key != old.key
    assert new.alarm_key == old.alarm_key


@pytest.mark.parametrize("trigger", ["TRIGGER:-PT15M", "TRIGGER;VALUE=DATE-TIME:20270301T084500Z"])
def test_alarm_uid_names_the_alarm(trigger):
    alarm = valarm(trigger, "UID:alarm-42")
    (firing,) = firings(calendar(vevent(*MEETING, alarms=(alarm,))), *DAY)
    assert firing.alarm == "alarm-42"
