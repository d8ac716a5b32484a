"""What the server logs about odd calendar data says what is odd, in words."""

from __future__ import annotations

import time

import requests

from tests.murmeli_process import MurmeliServer

MARS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:mars-1\r\n"
    "DTSTAMP:20270101T000000Z\r\nDTSTART;TZID=Mars/Olympus:20270301T100000\r\n"
    "DTEND;TZID=Mars/Olympus:20270301T110000\r\nSUMMARY:Landing\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def test_an_unknown_time_zone_is_named_in_a_warning_not_a_bare_error(server: MurmeliServer):
    auth = server.add_user("mars")
    answer = requests.put(f"{server.url}/{auth[0]}/calendar/mars.ics", data=MARS, auth=auth)
    assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 30
    while not any("Mars/Olympus" in line for line in server.log):
        assert time.monotonic() < deadline, "nothing was logged about the unknown zone"
        time.sleep(0.05)
    lines = [line for line in server.log if "Mars/Olympus" in line]
    assert all("WARNING murmeli.calendar: unknown time zone 'Mars/Olympus'" in x for x in lines)
    assert not any("ERROR root" in line for line in server.log)
