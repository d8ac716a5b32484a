"""Hostile recurrences against a real server: a rule repeating every second, without end,
is stored and every feature that expands it still answers, everyone else is served
meanwhile, and SIGTERM stops the server; a rule Radicale would walk for hours is refused."""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests

from tests.murmeli_process import MurmeliServer, unique_name
from tests.test_reminders import Clock

ALARM = (
    "BEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER:-PT1M\r\nSUMMARY:r\r\nDESCRIPTION:r\r\n"
    "ATTENDEE:mailto:nobody@example.org\r\nEND:VALARM\r\n"
)


def hostile(rule: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uuid.uuid4()}\r\nDTSTAMP:20200101T000000Z\r\nDTSTART:20200101T000000Z\r\n"
        f"DTEND:20200101T000001Z\r\nSUMMARY:Flood\r\nRRULE:{rule}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def add_person(server: MurmeliServer, prefix: str) -> tuple[str, str]:
    name = unique_name(prefix)
    password = f"pw-{os.urandom(6).hex()}"
    result = server.cli(
        "user", "add", name, "--password-stdin", "--email", f"{name}@example.org",
        stdin=password + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = requests.request("PROPFIND", f"{server.url}/{name}/", auth=(name, password))
    assert answer.status_code == 207  # the first login makes the calendar and mailboxes
    return name, password


@pytest.fixture
def setup(tmp_path):
    config = tmp_path / "murmeli.yaml"
    config.write_text(
        f"reminders:\n  enabled: true\n  poll_interval: 100ms\n"
        f"server:\n  test_clock_file: {tmp_path / 'clock'}\n"
    )
    data = tmp_path / "data"
    clock = Clock(tmp_path / "clock", data / "murmeli.sqlite3")
    server = MurmeliServer(data, config=config).start()
    yield server, clock
    if server.process.poll() is None:
        server.process.kill()


def test_a_rule_every_second_without_end_leaves_every_feature_answering(setup):
    server, clock = setup
    mallory, alice, bob = (add_person(server, p) for p in ("mallory", "alice", "bob"))
    calendar = f"{server.url}/{mallory[0]}/calendar/"
    stored = requests.put(
        f"{calendar}flood.ics", data=hostile("FREQ=SECONDLY", ALARM), auth=mallory, timeout=60
    )
    assert stored.status_code == 201, stored.text
    invitation = hostile(
        "FREQ=SECONDLY",
        f"ORGANIZER:mailto:{mallory[0]}@example.org\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{bob[0]}@example.org\r\n",
    )
    scheduled = requests.put(f"{calendar}invite.ics", data=invitation, auth=mallory, timeout=60)
    assert scheduled.status_code == 201, scheduled.text
    published = server.cli("publish", "on", f"/{mallory[0]}/calendar/")
    assert published.returncode == 0, published.stderr
    feed = urlsplit(published.stdout.strip().splitlines()[-1]).path

    lookup = {"attendees": [mallory[0], bob[0]], "start": "2030-01-07T10:00", "duration": 60}
    freebusy = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\n"
        f"BEGIN:VFREEBUSY\r\nUID:{uuid.uuid4()}\r\nDTSTAMP:20300101T000000Z\r\n"
        "DTSTART:20300107T000000Z\r\nDTEND:20300108T000000Z\r\n"
        f"ORGANIZER:mailto:{alice[0]}@example.org\r\n"
        f"ATTENDEE:mailto:{mallory[0]}@example.org\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    cli_lookup = ["availability", "--organiser", alice[0], "--attendees", mallory[0]]
    cli_lookup += ["--start", "2030-01-07T10:00", "--duration", "1h", "--json"]
    with ThreadPoolExecutor(4) as pool:
        answers = [
            pool.submit(
                requests.post, f"{server.url}/api/availability", json=lookup, auth=alice, timeout=60
            ),
            pool.submit(
                requests.post,
                f"{server.url}/{alice[0]}/schedule-outbox/",
                data=freebusy,
                auth=alice,
                headers={"Content-Type": "text/calendar"},
                timeout=60,
            ),
            pool.submit(requests.get, server.url + feed, timeout=60),
            pool.submit(server.cli, *cli_lookup),
        ]
        meanwhile = requests.request(
            "PROPFIND", f"{server.url}/{bob[0]}/calendar/", auth=bob, timeout=60
        )
        assert meanwhile.status_code == 207
        api, outbox, published_feed, cli = (answer.result(timeout=90) for answer in answers)
    assert api.status_code == 200, api.text
    assert mallory[0] in api.json()["busy"]
    assert outbox.status_code == 200, outbox.text
    assert "2.0;Success" in outbox.text
    assert published_feed.status_code == 200
    assert "RRULE:FREQ=SECONDLY" in published_feed.text
    assert cli.returncode == 0, cli.stderr
    assert mallory[0] in json.loads(cli.stdout)["busy"]
    clock.advance(timedelta(minutes=5))  # a reminder tick over the flood, completed

    assert server.stop() == 0


def test_a_rule_radicale_would_walk_for_hours_is_refused_with_the_reason(setup):
    server, _ = setup
    mallory = add_person(server, "mallory")
    calendar = f"{server.url}/{mallory[0]}/calendar/"
    for rule in ("FREQ=MINUTELY;COUNT=1000000000", "FREQ=SECONDLY;UNTIL=20991231T000000Z"):
        answer = requests.put(f"{calendar}{uuid.uuid4()}.ics", data=hostile(rule), timeout=60,
                              auth=mallory)  # fmt: skip
        assert answer.status_code == 403
        assert "max-instances" in answer.text
    fine = requests.put(
        f"{calendar}daily.ics", data=hostile("FREQ=DAILY;COUNT=3650"), auth=mallory, timeout=60
    )
    assert fine.status_code == 201
    assert server.stop() == 0
    server.assert_log_clean()
