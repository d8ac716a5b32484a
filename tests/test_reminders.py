"""Reminders end to end: a real server delivers alarms to a real SMTP sink and webhook receiver.

Events are written with the ``caldav`` library. The mail goes to an aiosmtpd
sink over verified STARTTLS with a login; chat goes to a local HTTP receiver.
The scheduler's clock is a file the test rewrites (``server.test_clock_file``):
libfaketime 0.9.10 cannot drive Python 3.11 (``time.sleep`` fails with EINVAL
when the monotonic clock is left alone, thread waits hang when it is faked).
Each step waits until the server has scanned up to the new time, read from
its database, so "nothing arrived" is asserted after the scan, not after a nap.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest
import requests

from tests.murmeli_process import MurmeliServer, unique_name
from tests.ports import free_port
from tests.smtp_sink import Sink, smtp_sink
from tests.test_tls import self_signed

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2030, 1, 7, tzinfo=UTC)  # a Monday; Berlin is UTC+1
SMTP_LOGIN = ("murmeli", "smtp-secret-" + uuid.uuid4().hex)
STOP_LINK = re.compile(r"(https?://\S+/api/reminders/stop/[A-Za-z0-9_-]+)")


class Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        assert self.headers["Content-Type"] == "application/json"
        Webhook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


class Clock:
    """The server's clock, moved by the test; ``advance`` returns once the server has
    scanned up to the new time."""

    def __init__(self, path: Path, database: Path) -> None:
        self.path = path
        self.database = database
        self.now = START
        self._write(START)

    def _write(self, instant: datetime) -> None:
        """Atomically, as the server may read the file at any moment."""
        fresh = self.path.with_suffix(".new")
        fresh.write_text(instant.isoformat())
        os.replace(fresh, self.path)

    def jump(self, delta: timedelta) -> None:
        """Moves the time without waiting: a reminder that cannot go out holds the scan back."""
        self.now += delta
        self._write(self.now)

    def advance(self, delta: timedelta) -> None:
        self.jump(delta)
        deadline = time.monotonic() + 30
        while self.scanned_to() < self.now.timestamp():
            assert time.monotonic() < deadline, f"the server did not scan up to {self.now}"
            time.sleep(0.05)

    def scanned_to(self) -> float:
        if not self.database.exists():
            return 0
        with sqlite3.connect(self.database) as connection:
            try:
                row = connection.execute("SELECT scanned_to FROM reminder_scans").fetchone()
            except sqlite3.OperationalError:
                return 0
        return row[0] if row else 0


@pytest.fixture(scope="module")
def sink(tmp_path_factory) -> Iterator[tuple[Sink, str, int]]:
    with smtp_sink(tmp_path_factory.mktemp("smtp"), SMTP_LOGIN) as running:
        yield running


@pytest.fixture(scope="module")
def webhook() -> Iterator[str]:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{receiver.server_address[1]}/hooks/reminders"
    receiver.shutdown()


@contextmanager
def reminder_server(
    folder: Path, sink: tuple[Sink, str, int], webhook: str
) -> Iterator[tuple[MurmeliServer, Clock, Sink]]:
    """A server sending reminders to ``sink`` and ``webhook``, on a clock of its own."""
    handler, certificate, port = sink
    password_file = folder / "smtp-password"
    password_file.write_text(SMTP_LOGIN[1] + "\n")
    config = folder / "murmeli.yaml"
    config.write_text(
        f"""smtp:
  host: 127.0.0.1
  port: {port}
  security: starttls
  username: {SMTP_LOGIN[0]}
  password_file: {password_file}
  from_address: reminders@example.org
  ca_file: {certificate}
reminders:
  enabled: true
  webhook_url: {webhook}
  poll_interval: 100ms
server:
  test_clock_file: {folder / "clock"}
"""
    )
    data = folder / "data"
    clock = Clock(folder / "clock", data / "murmeli.sqlite3")
    server = MurmeliServer(data, config=config).start()
    clock.advance(timedelta(0))
    try:
        yield server, clock, handler
    finally:
        server.stop()
    server.assert_log_clean("failed")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, sink, webhook) -> Iterator[tuple[MurmeliServer, Clock, Sink]]:
    with reminder_server(tmp_path_factory.mktemp("reminders"), sink, webhook) as running:
        yield running


@pytest.fixture
def chat_posts() -> list[dict]:
    """What the webhook receives during one test."""
    Webhook.received.clear()
    return Webhook.received


@pytest.fixture
def server(setup) -> MurmeliServer:
    return setup[0]


@pytest.fixture
def clock(setup) -> Clock:
    return setup[1]


@pytest.fixture
def mail(setup) -> Sink:
    return setup[2]


def person(server: MurmeliServer, prefix: str) -> tuple[str, str, str]:
    """A user with an email address and a provisioned calendar: (name, password, address)."""
    name = unique_name(prefix)
    password = f"pw-{uuid.uuid4().hex}"
    address = f"{name}@example.org"
    result = server.cli(
        "user", "add", name, "--password-stdin", "--email", address, stdin=password + "\n"
    )
    assert result.returncode == 0, result.stderr
    calendar_of(server, (name, password))
    return name, password, address


def calendar_of(server: MurmeliServer, user: tuple[str, ...]) -> caldav.Calendar:
    client = caldav.DAVClient(url=server.url, username=user[0], password=user[1], auth_type="basic")
    return client.principal().calendar(cal_url=f"/{user[0]}/calendar/")


def event_text(
    start: datetime,
    *alarms: dict,
    uid: str | None = None,
    summary: str = "Board meeting",
    location: str = "Room 4",
    rrule: dict | None = None,
    attendee: str | None = None,
) -> str:
    """An event of one hour starting at ``start`` (in Berlin), with the given VALARMs."""
    event = icalendar.Event()
    event.add("uid", uid or str(uuid.uuid4()))
    event.add("dtstamp", START)
    event.add("dtstart", start.astimezone(BERLIN))
    event.add("dtend", (start + timedelta(hours=1)).astimezone(BERLIN))
    event.add("summary", summary)
    event.add("location", location)
    if rrule:
        event.add("rrule", rrule)
    if attendee:
        event.add("attendee", f"mailto:{attendee}")
    for properties in alarms:
        alarm = icalendar.Alarm()
        alarm.add("action", properties.pop("action", "EMAIL"))
        alarm.add("summary", "Reminder")
        alarm.add("description", "Reminder")
        related = properties.pop("related", None)
        alarm.add(
            "trigger",
            properties.pop("trigger"),
            parameters={"RELATED": related} if related else None,
        )
        for name, value in properties.items():
            alarm.add(name, value)
        event.add_component(alarm)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Murmeli tests//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()


def before(minutes: int) -> dict:
    return {"trigger": timedelta(minutes=-minutes)}


def body(message: EmailMessage) -> str:
    return message.get_content()


def test_email_alarm_arrives_once_at_its_time(server, clock, mail):
    owner = person(server, "alice")
    start = clock.now + timedelta(hours=2)
    calendar_of(server, owner).save_event(event_text(start, before(15)))
    alarm = start - timedelta(minutes=15)

    clock.advance(alarm - timedelta(minutes=1) - clock.now)
    assert mail.to(owner[2]) == []

    clock.advance(timedelta(minutes=2))
    (message,) = mail.to(owner[2])
    assert "Board meeting" in message["Subject"]
    assert message["From"] == "reminders@example.org"
    text = body(message)
    assert f"{start.astimezone(BERLIN):%A %d %B %Y, %H:%M} (Europe/Berlin)" in text
    assert "Where: Room 4" in text
    assert STOP_LINK.search(text)
    clock.advance(timedelta(minutes=5))
    assert len(mail.to(owner[2])) == 1


def test_an_alarm_sent_is_not_sent_again_after_a_restart(tmp_path, sink, webhook):
    """On a server of its own: the restart must not touch the other tests' server."""
    with reminder_server(tmp_path, sink, webhook) as (server, clock, mail):
        owner = person(server, "abel")
        start = clock.now + timedelta(hours=1)
        calendar_of(server, owner).save_event(event_text(start, before(15)))
        clock.advance(timedelta(hours=1))
        assert len(mail.to(owner[2])) == 1
        server.stop()
        server.start()
        clock.advance(timedelta(minutes=5))
        assert len(mail.to(owner[2])) == 1


def test_absolute_trigger_and_trigger_after_the_end(server, clock, mail):
    owner = person(server, "bea")
    start = clock.now + timedelta(hours=3)
    absolute = clock.now + timedelta(hours=1)
    calendar = calendar_of(server, owner)
    calendar.save_event(event_text(start, {"trigger": absolute}, summary="Absolute"))
    calendar.save_event(
        event_text(
            start,
            {"trigger": timedelta(minutes=10), "related": "END"},
            summary="After the end",
        )
    )
    clock.advance(timedelta(hours=1))
    assert [m["Subject"].split(" — ")[0] for m in mail.to(owner[2])] == ["Reminder: Absolute"]
    clock.advance(timedelta(hours=3, minutes=9))
    assert len(mail.to(owner[2])) == 1
    clock.advance(timedelta(minutes=1))
    assert len(mail.to(owner[2])) == 2
    assert "After the end" in mail.to(owner[2])[1]["Subject"]


def test_recurring_event_is_reminded_per_occurrence(server, clock, mail):
    owner = person(server, "carl")
    start = clock.now + timedelta(hours=1)
    rule = {"freq": "daily", "count": 3}
    calendar_of(server, owner).save_event(event_text(start, before(10), rrule=rule))
    for _ in range(3):  # one day at a time: reminders later than reminders.horizon are dropped
        clock.advance(timedelta(days=1))
    messages = mail.to(owner[2])
    assert len(messages) == 3
    days = {re.search(r"When: (\w+ \d\d)", body(m))[1] for m in messages}
    assert len(days) == 3


def test_moved_event_is_reminded_at_its_new_time_only(server, clock, mail):
    owner = person(server, "dora")
    start = clock.now + timedelta(hours=1)
    uid = str(uuid.uuid4())
    saved = calendar_of(server, owner).save_event(event_text(start, before(15), uid=uid))
    saved.data = event_text(start + timedelta(hours=5), before(15), uid=uid)
    saved.save()
    clock.advance(timedelta(hours=1))
    assert mail.to(owner[2]) == []
    clock.advance(timedelta(hours=5))
    (message,) = mail.to(owner[2])
    assert f"{(start + timedelta(hours=5)).astimezone(BERLIN):%H:%M} (Europe/Berlin)" in body(
        message
    )


def test_deleted_event_sends_nothing(server, clock, mail):
    owner = person(server, "emil")
    start = clock.now + timedelta(hours=1)
    calendar_of(server, owner).save_event(event_text(start, before(15))).delete()
    clock.advance(timedelta(hours=2))
    assert mail.to(owner[2]) == []


def test_repeating_reminder_keeps_coming_until_the_stop_link_is_followed(server, clock, mail):
    owner = person(server, "fred")
    start = clock.now + timedelta(hours=1)
    nagging = {"trigger": timedelta(0), "repeat": 9999, "duration": timedelta(hours=1)}
    calendar_of(server, owner).save_event(event_text(start, nagging, summary="File taxes"))
    clock.advance(timedelta(hours=2))
    assert len(mail.to(owner[2])) == 2
    link = STOP_LINK.search(body(mail.to(owner[2])[-1]))[1]

    page = requests.get(link)
    assert page.status_code == 200
    assert "File taxes" in page.text and '<form method="post">' in page.text
    clock.advance(timedelta(hours=1))
    assert len(mail.to(owner[2])) == 3  # looking at the page stops nothing

    stopped = requests.post(link)
    assert stopped.status_code == 200
    assert "Reminders stopped" in stopped.text
    assert requests.post(link).status_code == 200  # following it twice is harmless
    clock.advance(timedelta(hours=3))
    assert len(mail.to(owner[2])) == 3
    assert requests.post(link[:-4] + "AAAA").status_code == 404


def test_chat_alarm_goes_to_the_webhook(server, clock, mail, chat_posts):
    owner = person(server, "gina")
    start = clock.now + timedelta(hours=1)
    chat = {"action": "DISPLAY", "trigger": timedelta(minutes=-5), "x-murmeli-chat": "TRUE"}
    calendar_of(server, owner).save_event(event_text(start, chat, summary="Stand-up"))
    clock.advance(timedelta(hours=1))
    (posted,) = chat_posts
    assert set(posted) == {"text"}
    assert posted["text"].startswith(f"For {owner[0]}: Reminder: Stand-up")
    assert "Stand-up" in posted["text"] and STOP_LINK.search(posted["text"])
    assert mail.to(owner[2]) == []  # a DISPLAY alarm marked for chat sends no mail


def test_guests_and_share_recipients_are_not_reminded(server, clock, mail):
    owner = person(server, "hana")
    guest = person(server, "ivan")
    result = server.cli("share", "add", f"/{owner[0]}/calendar/", "--with", guest[0])
    assert result.returncode == 0, result.stderr
    start = clock.now + timedelta(hours=1)
    calendar_of(server, owner).save_event(event_text(start, before(15), attendee=guest[2]))
    clock.advance(timedelta(hours=1))
    assert len(mail.to(owner[2])) == 1
    assert mail.to(guest[2]) == []


def wait_for_log(server: MurmeliServer, text: str, count: int = 1) -> None:
    deadline = time.monotonic() + 30
    while sum(text in line for line in server.log) < count:
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n" + "".join(server.log)
        time.sleep(0.05)


def test_a_reminder_is_retried_while_smtp_is_down_and_survives_a_restart(tmp_path):
    """The SMTP server is down when the alarm falls due and stays down across a restart of
    Murmeli: the reminder is tried again each scan, and arrives once SMTP is back."""
    port = free_port()
    certificate, _ = self_signed(tmp_path)  # the certificate the sink will present
    password_file = tmp_path / "smtp-password"
    password_file.write_text(SMTP_LOGIN[1] + "\n")
    config = tmp_path / "murmeli.yaml"
    config.write_text(
        f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  username: {SMTP_LOGIN[0]}\n"
        f"  password_file: {password_file}\n  from_address: reminders@example.org\n"
        f"  ca_file: {certificate}\n"
        "reminders:\n  enabled: true\n  poll_interval: 100ms\n"
        f"server:\n  test_clock_file: {tmp_path / 'clock'}\n"
    )
    clock = Clock(tmp_path / "clock", tmp_path / "data" / "murmeli.sqlite3")
    server = MurmeliServer(tmp_path / "data", config=config).start()
    try:
        clock.advance(timedelta(0))
        owner = person(server, "dora")
        start = clock.now + timedelta(hours=1)
        calendar_of(server, owner).save_event(event_text(start, before(10)))
        clock.jump(timedelta(minutes=55))  # past the alarm
        not_delivered = f"email for {owner[0]} not delivered"
        wait_for_log(server, not_delivered, count=2)  # tried, and tried again
        assert clock.scanned_to() < (start - timedelta(minutes=10)).timestamp()
    finally:
        server.stop()
    server.start()
    try:
        wait_for_log(server, not_delivered, count=3)  # the restarted server tries it too
        with smtp_sink(tmp_path, SMTP_LOGIN, port=port) as (sink, _, _):
            clock.advance(timedelta(minutes=1))  # scanned past the alarm: it went out
            (message,) = sink.to(owner[2])
            assert "Board meeting" in message["Subject"]
            clock.advance(timedelta(minutes=30))
            assert len(sink.to(owner[2])) == 1
    finally:
        server.stop()
    server.assert_log_clean("failed")
