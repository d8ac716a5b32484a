"""CalDAV scheduling against a real server: discovery, free-busy through the outbox,
invitations to local attendees (``caldav`` library) and outside ones (iMIP at a real SMTP
sink, answered by following the link with an HTTP client), updates, cancellations and
recurring events, with the requests as Apple Calendar and Thunderbird send them."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import caldav
import icalendar
import pytest
import requests

from plugins.scheduling.reschedule import rescheduled
from tests.murmeli_process import MurmeliServer, unique_name
from tests.smtp_sink import Sink, smtp_sink

SMTP_LOGIN = ("murmeli", "smtp-secret-" + uuid.uuid4().hex)
ANSWER_LINK = re.compile(r"(https?://\S+/api/scheduling/answer/[A-Za-z0-9_-]+/(\w+))")
DAY = datetime(2031, 3, 3, tzinfo=UTC)  # a Monday


@dataclass(frozen=True)
class Person:
    name: str
    password: str
    email: str

    @property
    def auth(self) -> tuple[str, str]:
        return self.name, self.password

    @property
    def mailto(self) -> str:
        return f"mailto:{self.email}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[MurmeliServer, Sink]]:
    folder = tmp_path_factory.mktemp("scheduling")
    with smtp_sink(folder, SMTP_LOGIN) as (sink, certificate, port):
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
  from_address: calendar@example.org
  ca_file: {certificate}
scheduling:
  poll_interval: 200ms
"""
        )
        server = MurmeliServer(folder / "data", config=config).start()
        yield server, sink
        server.stop()
    server.assert_log_clean()


@pytest.fixture
def server(setup) -> MurmeliServer:
    return setup[0]


@pytest.fixture
def sink(setup) -> Sink:
    return setup[1]


def person(server: MurmeliServer, prefix: str, role: str = "collaborator") -> Person:
    name = unique_name(prefix)
    password = f"pw-{name}-{os.urandom(6).hex()}"
    email = f"{name}@example.org"
    result = server.cli(
        "user", "add", name, "--password-stdin", "--email", email, "--role", role,
        stdin=password + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Person(name, password, email)


def outsider() -> str:
    return f"{unique_name('guest')}@outside.example"


def client(server: MurmeliServer, who: Person) -> caldav.DAVClient:
    return caldav.DAVClient(url=server.url, username=who.name, password=who.password)


def event(
    uid: str,
    organiser: Person,
    attendees: list[str],
    start: datetime = DAY + timedelta(hours=9),
    minutes: int = 60,
    summary: str = "Planning",
    extra: str = "",
    location: str = "Room 1",
) -> str:
    lines = "".join(f"ATTENDEE;CN=A;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{a}\r\n" for a in attendees)
    end = start + timedelta(minutes=minutes)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20310101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:{summary}\r\nLOCATION:{location}\r\n"
        f"ORGANIZER;CN=Org:mailto:{organiser.email}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organiser.email}\r\n{lines}{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def put(server: MurmeliServer, who: Person, href: str, text: str) -> requests.Response:
    """A PUT as Apple Calendar sends it."""
    answer = requests.put(
        f"{server.url}/{who.name}/calendar/{href}",
        data=text.encode(),
        auth=who.auth,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        timeout=30,
    )
    assert answer.status_code in (201, 204), answer.text
    return answer


def stored(server: MurmeliServer, who: Person, href: str) -> icalendar.Calendar:
    answer = requests.get(f"{server.url}/{who.name}/calendar/{href}", auth=who.auth, timeout=30)
    assert answer.status_code == 200, answer.text
    return icalendar.Calendar.from_ical(answer.text)


def inbox(server: MurmeliServer, who: Person) -> list[icalendar.Calendar]:
    box = client(server, who).principal().schedule_inbox()
    return [icalendar.Calendar.from_ical(item.data) for item in box.get_items()]


def mails_to(sink: Sink, address: str, count: int) -> list[EmailMessage]:
    deadline = time.monotonic() + 30
    while len(sink.to(address)) < count:
        assert time.monotonic() < deadline, f"{count} mails to {address} did not arrive"
        time.sleep(0.05)
    return sink.to(address)


def calendar_part(message: EmailMessage) -> tuple[str, icalendar.Calendar]:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_param("method"), icalendar.Calendar.from_ical(part.get_content())
    raise AssertionError("no text/calendar part")


def attendee(component: icalendar.Component, address: str) -> icalendar.vCalAddress:
    values = component.get("ATTENDEE", [])
    for value in values if isinstance(values, list) else [values]:
        if str(value).lower() == address.lower():
            return value
    raise AssertionError(f"{address} is not an attendee")


def master(calendar: icalendar.Calendar) -> icalendar.Component:
    return next(c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" not in c)


# Discovery


def test_dav_header_and_principal_properties(server):
    alice = person(server, "alice")
    answer = requests.options(f"{server.url}/{alice.name}/", auth=alice.auth, timeout=30)
    assert "calendar-auto-schedule" in answer.headers["DAV"]
    principal = client(server, alice).principal()
    assert str(principal.schedule_inbox().url).endswith(f"/{alice.name}/schedule-inbox/")
    assert str(principal.schedule_outbox().url).endswith(f"/{alice.name}/schedule-outbox/")
    assert principal.calendar_user_address_set() == [alice.mailto, f"/{alice.name}/"]
    calendars = [str(c.url) for c in principal.get_calendars()]
    assert calendars == [f"{server.url}/{alice.name}/calendar/"]
    body = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><C:schedule-default-calendar-URL/><D:resourcetype/></D:prop></D:propfind>"
    )
    answer = requests.request(
        "PROPFIND", f"{server.url}/{alice.name}/", data=body, auth=alice.auth,
        headers={"Depth": "1"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 207
    assert f"<href>/{alice.name}/calendar/</href></C:schedule-default-calendar-URL>" in answer.text
    assert "<C:schedule-inbox />" in answer.text and "<C:schedule-outbox />" in answer.text


def test_mailboxes_take_no_writes_from_clients(server):
    alice = person(server, "alice")
    client(server, alice).principal()  # first login makes the mailboxes
    for method, path in (("PUT", "schedule-inbox/x.ics"), ("DELETE", "schedule-outbox/")):
        answer = requests.request(
            method, f"{server.url}/{alice.name}/{path}", data=b"x", auth=alice.auth, timeout=30
        )
        assert answer.status_code == 403, (method, path)


# Free-busy through the outbox


def test_freebusy_request_with_the_caldav_library(server):
    alice, bob = person(server, "alice"), person(server, "bob")
    put(server, bob, "busy.ics", event(str(uuid.uuid4()), bob, [], start=DAY + timedelta(hours=10)))
    principal = client(server, alice).principal()
    unknown = "mailto:nobody@nowhere.example"
    answer = principal.freebusy_request(DAY, DAY + timedelta(days=1), [bob.mailto, unknown])
    assert answer["errors"] == {unknown: "3.7;Invalid calendar user"}
    reply = icalendar.Calendar.from_ical(answer[bob.mailto].data)
    assert reply["METHOD"] == "REPLY"
    busy = reply.walk("VFREEBUSY")[0]["FREEBUSY"]
    busy = busy if isinstance(busy, list) else [busy]
    periods = [p.dt for p in busy]
    assert periods == [(DAY + timedelta(hours=10), DAY + timedelta(hours=11))]
    assert "Planning" not in answer[bob.mailto].data


APPLE_FREEBUSY = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Apple Inc.//macOS 14.0//EN\r
METHOD:REQUEST\r
BEGIN:VFREEBUSY\r
UID:{uid}\r
DTSTAMP:20310101T000000Z\r
DTSTART:20310303T000000Z\r
DTEND:20310304T000000Z\r
ORGANIZER:{organiser}\r
ATTENDEE:{attendee}\r
X-CALENDARSERVER-MASK-UID:masked\r
END:VFREEBUSY\r
END:VCALENDAR\r
"""


def outbox_post(server: MurmeliServer, who: Person, owner: str, body: str) -> requests.Response:
    return requests.post(
        f"{server.url}/{owner}/schedule-outbox/",
        data=body.encode(),
        auth=who.auth,
        headers={
            "Content-Type": "text/calendar; charset=utf-8",
            "Originator": who.mailto,
            "Recipient": "mailto:x@example.org",
        },
        timeout=30,
    )


def test_freebusy_as_apple_calendar_posts_it_and_its_refusals(server):
    alice, bob = person(server, "alice"), person(server, "bob")
    external = person(server, "ext", role="external")
    put(server, bob, "busy.ics", event(str(uuid.uuid4()), bob, [], start=DAY + timedelta(hours=8)))
    body = APPLE_FREEBUSY.format(uid=uuid.uuid4(), organiser=alice.mailto, attendee=bob.mailto)
    answer = outbox_post(server, alice, alice.name, body)
    assert answer.status_code == 200, answer.text
    assert "<C:request-status>2.0;Success</C:request-status>" in answer.text
    assert "FREEBUSY;FBTYPE=BUSY:20310303T080000Z/20310303T090000Z" in answer.text
    hidden = APPLE_FREEBUSY.format(uid=1, organiser=external.mailto, attendee=bob.mailto)
    answer = outbox_post(server, external, external.name, hidden)
    assert "3.8;No authority" in answer.text and "FREEBUSY;" not in answer.text
    assert outbox_post(server, bob, alice.name, body).status_code == 403
    forged = APPLE_FREEBUSY.format(uid=2, organiser=bob.mailto, attendee=bob.mailto)
    assert outbox_post(server, alice, alice.name, forged).status_code == 403
    answer = outbox_post(server, alice, alice.name, "not a calendar")
    assert answer.status_code == 400 and "iCalendar" in answer.text


# Invitations


def test_invitation_reaches_local_and_outside_attendees_and_links_answer(server, sink):
    alice, bob = person(server, "alice"), person(server, "bob")
    carol = outsider()
    uid = str(uuid.uuid4())
    answer = put(server, alice, "meeting.ics", event(uid, alice, [bob.mailto, f"mailto:{carol}"]))
    assert "ETag" not in answer.headers  # the server changed what it stored
    mine = master(stored(server, alice, "meeting.ics"))
    assert attendee(mine, bob.mailto).params["SCHEDULE-STATUS"] == "1.2"
    assert attendee(mine, f"mailto:{carol}").params["SCHEDULE-STATUS"] == "1.1"

    (request,) = inbox(server, bob)
    assert request["METHOD"] == "REQUEST" and str(master(request)["UID"]) == uid
    (copy,) = [e for e in client(server, bob).principal().get_calendars()[0].events()]
    copy_event = copy.icalendar_component
    assert attendee(copy_event, bob.mailto).params["PARTSTAT"] == "NEEDS-ACTION"
    assert "SCHEDULE-STATUS" not in attendee(copy_event, bob.mailto).params

    (mail,) = mails_to(sink, carol, 1)
    assert mail.get_content_type() == "multipart/alternative"
    method, invitation = calendar_part(mail)
    assert method == "REQUEST" and invitation["METHOD"] == "REQUEST"
    assert str(master(invitation)["UID"]) == uid
    text = mail.get_body(("plain",)).get_content()
    assert "Planning" in text and "Room 1" in text and alice.email in text
    html = mail.get_body(("html",)).get_content()
    assert "Accept" in html and "Decline" in html
    links = {kind: url for url, kind in ANSWER_LINK.findall(text)}
    assert set(links) == {"accept", "decline", "tentative"}

    page = requests.get(links["accept"], timeout=30)
    assert page.status_code == 200 and "Planning" in page.text
    assert (
        attendee(master(stored(server, alice, "meeting.ics")), f"mailto:{carol}").params["PARTSTAT"]
        == "NEEDS-ACTION"
    )  # a GET (a link preview) answers nothing
    accepted = requests.post(links["accept"], timeout=30)
    assert accepted.status_code == 200, accepted.text
    mine = master(stored(server, alice, "meeting.ics"))
    assert attendee(mine, f"mailto:{carol}").params["PARTSTAT"] == "ACCEPTED"
    replies = [c for c in inbox(server, alice) if c["METHOD"] == "REPLY"]
    assert [str(attendee(master(r), f"mailto:{carol}")) for r in replies] == [f"mailto:{carol}"]
    (notice,) = mails_to(sink, alice.email, 1)
    assert "accepted" in notice["Subject"] and "Planning" in notice["Subject"]

    assert requests.post(links["decline"], timeout=30).status_code == 410  # used
    forged = links["accept"].rsplit("/", 2)[0] + "/" + "A" * 43 + "/accept"
    assert requests.post(forged, timeout=30).status_code == 404
    mine = master(stored(server, alice, "meeting.ics"))
    assert attendee(mine, f"mailto:{carol}").params["PARTSTAT"] == "ACCEPTED"


@pytest.mark.parametrize(
    ("answer", "partstat"),
    [
        ("accept_invite", "ACCEPTED"),
        ("decline_invite", "DECLINED"),
        ("tentatively_accept_invite", "TENTATIVE"),
    ],
)
def test_local_attendee_answers_in_their_own_client(server, answer, partstat):
    alice, bob = person(server, "alice"), person(server, "bob")
    put(server, alice, "m.ics", event(str(uuid.uuid4()), alice, [bob.mailto]))
    (item,) = client(server, bob).principal().schedule_inbox().get_items()
    getattr(item, answer)()
    mine = master(stored(server, alice, "m.ics"))
    assert attendee(mine, bob.mailto).params["PARTSTAT"] == partstat
    (reply,) = inbox(server, alice)
    assert reply["METHOD"] == "REPLY"
    assert attendee(master(reply), bob.mailto).params["PARTSTAT"] == partstat


def copy_of(server: MurmeliServer, who: Person, uid: str) -> caldav.CalendarObjectResource:
    return client(server, who).principal().get_calendars()[0].event_by_uid(uid)


def test_an_answer_reaches_the_other_local_attendees_copies(server):
    alice, bob, erin = person(server, "alice"), person(server, "bob"), person(server, "erin")
    uid = str(uuid.uuid4())
    put(server, alice, "r.ics", event(uid, alice, [bob.mailto, erin.mailto]))
    copy = copy_of(server, bob, uid)
    accepted = icalendar.Calendar.from_ical(copy.data)
    attendee(master(accepted), bob.mailto).params["PARTSTAT"] = "ACCEPTED"
    answer = requests.put(str(copy.url), data=accepted.to_ical(), auth=bob.auth, timeout=30)
    assert answer.status_code == 204, answer.text
    theirs = copy_of(server, erin, uid).icalendar_component
    assert attendee(theirs, bob.mailto).params["PARTSTAT"] == "ACCEPTED"
    assert attendee(theirs, erin.mailto).params["PARTSTAT"] == "NEEDS-ACTION"
    assert "SCHEDULE-STATUS" not in attendee(theirs, bob.mailto).params
    assert [c["METHOD"] for c in inbox(server, erin)] == ["REQUEST"]  # refreshed in place
    again = requests.get(str(copy.url), auth=bob.auth, timeout=30)
    assert again.headers["ETag"] == answer.headers["ETag"]  # whoever answered is left alone


def test_moving_the_event_asks_again_but_a_new_place_keeps_answers(server):
    alice, bob = person(server, "alice"), person(server, "bob")
    uid = str(uuid.uuid4())
    put(server, alice, "p.ics", event(uid, alice, [bob.mailto]))
    (item,) = client(server, bob).principal().schedule_inbox().get_items()
    item.accept_invite()

    organiser_copy = stored(server, alice, "p.ics")  # as Apple Calendar edits: GET, change, PUT
    master(organiser_copy)["LOCATION"] = "Room 7"
    put(server, alice, "p.ics", organiser_copy.to_ical().decode())
    mine = master(stored(server, alice, "p.ics"))
    assert mine["SEQUENCE"] == 1 and attendee(mine, bob.mailto).params["PARTSTAT"] == "ACCEPTED"
    theirs = copy_of(server, bob, uid).icalendar_component
    assert str(theirs["LOCATION"]) == "Room 7"
    assert attendee(theirs, bob.mailto).params["PARTSTAT"] == "ACCEPTED"

    organiser_copy = stored(server, alice, "p.ics")
    moved = master(organiser_copy)
    moved["DTSTART"].dt += timedelta(hours=1)
    moved["DTEND"].dt += timedelta(hours=1)
    put(server, alice, "p.ics", organiser_copy.to_ical().decode())
    mine = master(stored(server, alice, "p.ics"))
    assert mine["SEQUENCE"] == 2
    assert attendee(mine, bob.mailto).params["PARTSTAT"] == "NEEDS-ACTION"
    assert attendee(mine, alice.mailto).params["PARTSTAT"] == "ACCEPTED"  # the organiser's own
    theirs = copy_of(server, bob, uid).icalendar_component
    assert theirs["DTSTART"].dt == DAY + timedelta(hours=10) and theirs["SEQUENCE"] == 2
    assert attendee(theirs, bob.mailto).params["PARTSTAT"] == "NEEDS-ACTION"
    latest = [c for c in inbox(server, bob) if master(c).get("SEQUENCE") == 2]
    assert [attendee(master(c), bob.mailto).params["PARTSTAT"] for c in latest] == ["NEEDS-ACTION"]


def test_which_changes_count_as_rescheduling():
    """RFC 6638 §3.2.8's table, on the parsed objects (no server needed)."""
    organiser = Person("o", "", "o@example.org")
    weekly, uid = "RRULE:FREQ=WEEKLY;COUNT=4\r\n", "u"
    third = DAY + timedelta(days=14, hours=9)
    exdate = f"EXDATE:{third:%Y%m%dT%H%M%SZ}\r\n"

    def parsed(**changes) -> icalendar.Calendar:
        return icalendar.Calendar.from_ical(event(uid, organiser, ["mailto:b@x.org"], **changes))

    def with_override(start: datetime) -> icalendar.Calendar:
        series = parsed(extra=weekly)
        override = parsed(start=start).walk("VEVENT")[0]
        override.add("RECURRENCE-ID", third)
        series.add_component(override)
        return series

    old = parsed(extra=weekly)
    assert rescheduled(old, parsed(extra=weekly, location="Hall")) == []
    assert rescheduled(old, parsed(extra=weekly, minutes=90)) == [""]
    assert rescheduled(old, parsed(extra=weekly + exdate)) == []  # a cancelled instance
    assert rescheduled(parsed(extra=weekly + exdate), old) == [""]  # an instance back
    assert rescheduled(old, with_override(third)) == []
    assert rescheduled(old, with_override(third + timedelta(hours=2))) == [third.isoformat()]
    assert rescheduled(None, old) == []


ALARM = "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:{0}\r\nTRIGGER:-PT{1}M\r\nEND:VALARM\r\n"


def test_an_attendees_own_alarms_survive_updates(server):
    alice, bob = person(server, "alice"), person(server, "bob")
    uid = str(uuid.uuid4())
    organisers_alarm = ALARM.format("organiser's", 5)
    put(server, alice, "a.ics", event(uid, alice, [bob.mailto], extra=organisers_alarm))
    copy = copy_of(server, bob, uid)
    assert "BEGIN:VALARM" not in copy.data
    with_alarm = copy.data.replace("END:VEVENT", ALARM.format("bob's", 30) + "END:VEVENT")
    answer = requests.put(str(copy.url), data=with_alarm.encode(), auth=bob.auth, timeout=30)
    assert answer.status_code == 204, answer.text

    moved = event(uid, alice, [bob.mailto], start=DAY + timedelta(hours=15), extra=organisers_alarm)
    put(server, alice, "a.ics", moved)
    theirs = copy_of(server, bob, uid).icalendar_component
    assert theirs["DTSTART"].dt == DAY + timedelta(hours=15)
    assert [str(a["DESCRIPTION"]) for a in theirs.walk("VALARM")] == ["bob's"]
    assert theirs.walk("VALARM")[0]["TRIGGER"].dt == timedelta(minutes=-30)


def test_updates_bump_sequence_and_removals_cancel(server, sink):
    alice, bob = person(server, "alice"), person(server, "bob")
    carol, dave = outsider(), outsider()
    uid = str(uuid.uuid4())
    everyone = [bob.mailto, f"mailto:{carol}", f"mailto:{dave}"]
    put(server, alice, "u.ics", event(uid, alice, everyone))
    mails_to(sink, carol, 1)
    moved = event(uid, alice, everyone, start=DAY + timedelta(hours=14), location="Room 2")
    put(server, alice, "u.ics", moved)  # the client kept SEQUENCE at 0
    assert master(stored(server, alice, "u.ics"))["SEQUENCE"] == 1
    method, update = calendar_part(mails_to(sink, carol, 2)[1])
    assert method == "REQUEST" and master(update)["SEQUENCE"] == 1
    assert str(master(update)["LOCATION"]) == "Room 2"
    assert "Updated invitation" in mails_to(sink, carol, 2)[1]["Subject"]
    copy = client(server, bob).principal().get_calendars()[0].event_by_uid(uid)
    assert str(copy.icalendar_component["LOCATION"]) == "Room 2"

    fewer = event(uid, alice, [bob.mailto, f"mailto:{carol}"], start=DAY + timedelta(hours=14),
                  location="Room 2", extra="SEQUENCE:1\r\n")  # fmt: skip
    put(server, alice, "u.ics", fewer)
    method, cancel = calendar_part(mails_to(sink, dave, 3)[2])
    assert method == "CANCEL" and str(master(cancel)["STATUS"]) == "CANCELLED"
    method, update = calendar_part(mails_to(sink, carol, 3)[2])  # the attendee list changed
    assert method == "REQUEST" and f"mailto:{dave}" not in update.to_ical().decode()

    assert requests.delete(f"{server.url}/{alice.name}/calendar/u.ics", auth=alice.auth).ok
    method, cancel = calendar_part(mails_to(sink, carol, 4)[3])
    assert method == "CANCEL" and master(cancel)["SEQUENCE"] == 2
    copy = client(server, bob).principal().get_calendars()[0].event_by_uid(uid)
    assert str(copy.icalendar_component["STATUS"]) == "CANCELLED"
    assert [c["METHOD"] for c in inbox(server, bob)].count("CANCEL") == 1


def test_an_event_inviting_more_than_the_cap_is_refused(server):
    alice = person(server, "alice")
    crowd = [f"mailto:{outsider()}" for _ in range(100)]  # and alice: 101 attendees
    answer = requests.put(
        f"{server.url}/{alice.name}/calendar/crowd.ics",
        data=event(str(uuid.uuid4()), alice, crowd).encode(),
        auth=alice.auth,
        headers={"Content-Type": "text/calendar; charset=utf-8"},
        timeout=30,
    )
    assert answer.status_code == 403
    assert "at most 100 attendees" in answer.text
    gone = requests.get(f"{server.url}/{alice.name}/calendar/crowd.ics", auth=alice.auth)
    assert gone.status_code == 404
    put(server, alice, "crowd.ics", event(str(uuid.uuid4()), alice, crowd[:99]))


def test_schedule_agent_client_keeps_the_server_silent(server, sink):
    alice = person(server, "alice")
    carol = outsider()
    text = event(str(uuid.uuid4()), alice, []).replace(
        "END:VEVENT", f"ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:{carol}\r\nEND:VEVENT"
    )
    answer = put(server, alice, "c.ics", text)
    assert "ETag" in answer.headers
    assert "SCHEDULE-STATUS" not in stored(server, alice, "c.ics").to_ical().decode()
    # The queue sends in the order mails were queued: once an invitation queued after
    # this PUT has arrived, a mail to carol would have arrived before it.
    marker = outsider()
    put(server, alice, "marker.ics", event(str(uuid.uuid4()), alice, [f"mailto:{marker}"]))
    mails_to(sink, marker, 1)
    assert sink.to(carol) == []


# Recurring events


def test_series_with_a_cancelled_a_moved_and_a_declined_occurrence(server, sink):
    alice, bob = person(server, "alice"), person(server, "bob")
    carol = outsider()
    uid = str(uuid.uuid4())
    people = [bob.mailto, f"mailto:{carol}"]
    weekly = "RRULE:FREQ=WEEKLY;COUNT=4\r\n"
    put(server, alice, "s.ics", event(uid, alice, people, extra=weekly))
    method, series = calendar_part(mails_to(sink, carol, 1)[0])
    assert method == "REQUEST" and "RRULE" in master(series)

    second = DAY + timedelta(days=7, hours=9)
    exdate = f"EXDATE:{second:%Y%m%dT%H%M%SZ}\r\n"
    put(server, alice, "s.ics", event(uid, alice, people, extra=weekly + exdate))
    method, cancel = calendar_part(mails_to(sink, carol, 2)[1])
    assert method == "CANCEL"
    (part,) = cancel.walk("VEVENT")
    assert part["RECURRENCE-ID"].dt == second and str(part["STATUS"]) == "CANCELLED"
    # Radicale lists a collection in directory order, not delivery order.
    assert sorted(c["METHOD"] for c in inbox(server, bob)) == ["CANCEL", "REQUEST"]

    third = DAY + timedelta(days=14, hours=9)
    override = event(uid, alice, people, start=third + timedelta(hours=5)).split("BEGIN:VEVENT")[1]
    override = override.split("END:VEVENT")[0].replace(
        "DTSTAMP", f"RECURRENCE-ID:{third:%Y%m%dT%H%M%SZ}\r\nSEQUENCE:1\r\nDTSTAMP"
    )
    text = event(uid, alice, people, extra=weekly + exdate).replace(
        "END:VCALENDAR", f"BEGIN:VEVENT{override}END:VEVENT\r\nEND:VCALENDAR"
    )
    put(server, alice, "s.ics", text)
    method, update = calendar_part(mails_to(sink, carol, 3)[2])
    moved = [e for e in update.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert method == "REQUEST" and moved[0]["DTSTART"].dt == third + timedelta(hours=5)

    copy = client(server, bob).principal().get_calendars()[0].event_by_uid(uid)
    assert len(copy.icalendar_instance.walk("VEVENT")) == 2  # the series and the moved one
    fourth = DAY + timedelta(days=21, hours=9)
    declined = copy.data.replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nRECURRENCE-ID:{fourth:%Y%m%dT%H%M%SZ}\r\nDTSTAMP:20310101T000000Z\r\n"
        f"DTSTART:{fourth:%Y%m%dT%H%M%SZ}\r\nDURATION:PT1H\r\nSUMMARY:Planning\r\n"
        f"ORGANIZER:mailto:{alice.email}\r\nATTENDEE;PARTSTAT=DECLINED:{bob.mailto}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR",
    )
    answer = requests.put(str(copy.url), data=declined.encode(), auth=bob.auth, timeout=30)
    assert answer.status_code in (201, 204), answer.text
    mine = stored(server, alice, "s.ics")
    instances = {e["RECURRENCE-ID"].dt: e for e in mine.walk("VEVENT") if "RECURRENCE-ID" in e}
    assert attendee(instances[fourth], bob.mailto).params["PARTSTAT"] == "DECLINED"
    assert attendee(master(mine), bob.mailto).params["PARTSTAT"] == "NEEDS-ACTION"
    (reply,) = [c for c in inbox(server, alice) if c["METHOD"] == "REPLY"]
    assert reply.walk("VEVENT")[0]["RECURRENCE-ID"].dt == fourth


def test_first_request_on_the_principal_still_makes_the_default_collections(server):
    alice = person(server, "alice")
    answer = requests.request(
        "PROPFIND", f"{server.url}/{alice.name}/", auth=alice.auth, headers={"Depth": "0"}
    )
    assert answer.status_code == 207
    calendars = [str(c.url) for c in client(server, alice).principal().get_calendars()]
    assert calendars == [f"{server.url}/{alice.name}/calendar/"]


# Schedule-Tag (RFC 6638 §3.2.10), with the requests Apple Calendar sends

CALDAV_NS = "{urn:ietf:params:xml:ns:caldav}"
TAG_PROPFIND = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    "<D:prop><D:getetag/><C:schedule-tag/></D:prop></D:propfind>"
)
TAG_MULTIGET = (
    '<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:schedule-tag/>'
    "<C:calendar-data/></D:prop><D:href>{href}</D:href></C:calendar-multiget>"
)


def schedule_tags(answer: requests.Response) -> dict[str, str]:
    """href -> schedule-tag, for the responses whose schedule-tag was found (200)."""
    assert answer.status_code == 207, answer.text
    found = {}
    for response in ET.fromstring(answer.content).iter("{DAV:}response"):
        for propstat in response.iter("{DAV:}propstat"):
            tag = propstat.find(f"{{DAV:}}prop/{CALDAV_NS}schedule-tag")
            if tag is not None and " 200 " in propstat.findtext("{DAV:}status", ""):
                found[response.findtext("{DAV:}href")] = tag.text
    return found


def conditional(method: str, url: str, who: Person, tag: str, body: bytes = b""):
    """A PUT or DELETE as Apple Calendar sends it for a scheduled event: If-Schedule-Tag-Match,
    no If-Match."""
    return requests.request(
        method, url, data=body, auth=who.auth, timeout=30,
        headers={"Content-Type": "text/calendar; charset=utf-8", "If-Schedule-Tag-Match": tag},
    )  # fmt: skip


def test_schedule_tag_moves_only_with_the_organisers_changes(server):
    alice, bob, erin = person(server, "alice"), person(server, "bob"), person(server, "erin")
    uid = str(uuid.uuid4())
    put(server, alice, "t.ics", event(uid, alice, [bob.mailto, erin.mailto]))
    organiser_url = f"{server.url}/{alice.name}/calendar/t.ics"
    organiser_tag = requests.get(organiser_url, auth=alice.auth, timeout=30).headers["Schedule-Tag"]
    bob_copy = copy_of(server, bob, uid)
    bob_url, bob_href = str(bob_copy.url), urlsplit(str(bob_copy.url)).path
    first = requests.get(bob_url, auth=bob.auth, timeout=30)
    bob_tag = first.headers["Schedule-Tag"]
    assert bob_tag.startswith('"') and bob_tag != first.headers["ETag"]
    listing = requests.request(
        "PROPFIND", f"{server.url}/{bob.name}/calendar/", data=TAG_PROPFIND, auth=bob.auth,
        headers={"Depth": "1"}, timeout=30,
    )  # fmt: skip
    assert schedule_tags(listing) == {bob_href: bob_tag}  # the calendar itself has none
    multiget = requests.request(
        "REPORT", f"{server.url}/{bob.name}/calendar/", auth=bob.auth, headers={"Depth": "1"},
        data=TAG_MULTIGET.format(href=bob_href), timeout=30,
    )  # fmt: skip
    assert schedule_tags(multiget) == {bob_href: bob_tag} and "BEGIN:VCALENDAR" in multiget.text

    erins = copy_of(server, erin, uid)
    accepted = icalendar.Calendar.from_ical(erins.data)
    attendee(master(accepted), erin.mailto).params["PARTSTAT"] = "ACCEPTED"
    assert requests.put(str(erins.url), data=accepted.to_ical(), auth=erin.auth).status_code == 204
    merged = requests.get(bob_url, auth=bob.auth, timeout=30)
    assert merged.headers["ETag"] != first.headers["ETag"]  # erin's answer shows in bob's copy
    assert merged.headers["Schedule-Tag"] == bob_tag
    assert requests.get(organiser_url, auth=alice.auth).headers["Schedule-Tag"] == organiser_tag

    answer = icalendar.Calendar.from_ical(first.text)  # bob's client still has the old copy
    attendee(master(answer), bob.mailto).params["PARTSTAT"] = "ACCEPTED"
    stored_answer = conditional("PUT", bob_url, bob, bob_tag, answer.to_ical())
    assert stored_answer.status_code == 204, stored_answer.text
    assert stored_answer.headers["Schedule-Tag"] == bob_tag  # his own answer keeps it
    mine = master(stored(server, alice, "t.ics"))
    assert attendee(mine, bob.mailto).params["PARTSTAT"] == "ACCEPTED"

    moved = stored(server, alice, "t.ics")
    master(moved)["DTSTART"].dt += timedelta(hours=2)
    master(moved)["DTEND"].dt += timedelta(hours=2)
    update = conditional("PUT", organiser_url, alice, organiser_tag, moved.to_ical())
    assert update.status_code == 204, update.text
    assert update.headers["Schedule-Tag"] not in (organiser_tag, None)
    new_bob_tag = requests.get(bob_url, auth=bob.auth, timeout=30).headers["Schedule-Tag"]
    assert new_bob_tag != bob_tag

    stale = conditional("PUT", bob_url, bob, bob_tag, answer.to_ical())
    assert stale.status_code == 412
    assert conditional("DELETE", bob_url, bob, bob_tag).status_code == 412
    assert copy_of(server, bob, uid).icalendar_component["DTSTART"].dt == DAY + timedelta(hours=11)
    assert (
        conditional("PUT", organiser_url, alice, organiser_tag, moved.to_ical()).status_code == 412
    )
    assert conditional("DELETE", bob_url, bob, new_bob_tag).ok
    assert requests.get(bob_url, auth=bob.auth, timeout=30).status_code == 404


# SCHEDULE-STATUS


def test_a_failed_local_delivery_shows_in_the_organisers_copy(server):
    alice, bob, erin = person(server, "alice"), person(server, "bob"), person(server, "erin")
    for attendee_ in (bob, erin):
        client(server, attendee_).principal()  # first login makes their calendars
    props = server.data / "collections" / "collection-root" / bob.name / "calendar"
    props /= ".Radicale.props"
    original = props.read_text()
    props.write_text("{ not JSON")  # bob's calendar is now one Radicale refuses to open
    try:
        uid = str(uuid.uuid4())
        answer = put(server, alice, "f.ics", event(uid, alice, [bob.mailto, erin.mailto]))
        mine = master(stored(server, alice, "f.ics"))
        assert attendee(mine, bob.mailto).params["SCHEDULE-STATUS"] == "5.1"
        assert attendee(mine, erin.mailto).params["SCHEDULE-STATUS"] == "1.2"
        url = f"{server.url}/{alice.name}/calendar/f.ics"
        assert (
            requests.get(url, auth=alice.auth).headers["Schedule-Tag"]
            == answer.headers["Schedule-Tag"]
        )  # noting the failure is no change of the organiser's
    finally:
        props.write_text(original)
    assert str(copy_of(server, erin, uid).icalendar_component["UID"]) == uid
    assert [c["METHOD"] for c in inbox(server, erin)] == ["REQUEST"]
    assert inbox(server, bob) == []


@contextmanager
def scheduling_server(folder: Path, smtp: str, max_attempts: int) -> Iterator[MurmeliServer]:
    """A server of its own, for mail that fails: ``smtp`` is its smtp section's body."""
    config = folder / "murmeli.yaml"
    config.write_text(
        f"smtp:\n{smtp}  from_address: calendar@example.org\n"
        f"scheduling:\n  poll_interval: 200ms\n  max_attempts: {max_attempts}\n"
    )
    server = MurmeliServer(folder / "data", config=config).start()
    try:
        yield server
    finally:
        server.stop()
    server.assert_log_clean()


def status_of(server: MurmeliServer, who: Person, href: str, address: str) -> requests.Response:
    """The organiser's copy once ``address`` has a SCHEDULE-STATUS other than 1.1 (sent)."""
    url, deadline = f"{server.url}/{who.name}/calendar/{href}", time.monotonic() + 30
    while True:
        answer = requests.get(url, auth=who.auth, timeout=30)
        if schedule_status(answer, address) != "1.1":
            return answer
        assert time.monotonic() < deadline, f"{address} still says 1.1"
        time.sleep(0.05)


def schedule_status(answer: requests.Response, address: str) -> str:
    return attendee(master(icalendar.Calendar.from_ical(answer.text)), address).params[
        "SCHEDULE-STATUS"
    ]


def test_an_invitation_mail_given_up_shows_in_the_organisers_copy(tmp_path):
    """The SMTP server takes the connection but never answers until the test closes it: the
    one attempt (max_attempts 1) then fails, and the copy, read before, says so after."""
    gate = socket.create_server(("127.0.0.1", 0))
    smtp = f"  host: 127.0.0.1\n  port: {gate.getsockname()[1]}\n  security: none\n"
    with scheduling_server(tmp_path, smtp, max_attempts=1) as server:
        alice, carol = person(server, "alice"), f"mailto:{outsider()}"
        answer = put(server, alice, "g.ics", event(str(uuid.uuid4()), alice, [carol]))
        url = f"{server.url}/{alice.name}/calendar/g.ics"
        sent = requests.get(url, auth=alice.auth, timeout=30)
        assert schedule_status(sent, carol) == "1.1"
        gate.close()  # the waiting connection is reset, and nothing listens any more
        failed = status_of(server, alice, "g.ics", carol)
        assert schedule_status(failed, carol) == "5.1"
        assert failed.headers["ETag"] != sent.headers["ETag"]
        assert failed.headers["Schedule-Tag"] == sent.headers["Schedule-Tag"]
        assert failed.headers["Schedule-Tag"] == answer.headers["Schedule-Tag"]
    assert any("REQUEST to" in line and "given up" in line for line in server.log)


def test_a_recipient_refused_for_good_is_not_retried_and_shows_as_invalid(tmp_path):
    """550 for one recipient: 3.7 at once, though max_attempts allows a second try; 451 for
    another: still 1.1 (sent), to be retried; the third gets the invitation."""
    refused, busy, fine = (f"mailto:{outsider()}" for _ in range(3))
    with smtp_sink(tmp_path, SMTP_LOGIN) as (sink, certificate, port):
        sink.refusals = {busy[7:]: "451 4.3.0 try again later", refused[7:]: "550 5.1.1 no user"}
        password_file = tmp_path / "smtp-password"
        password_file.write_text(SMTP_LOGIN[1] + "\n")
        smtp = (
            f"  host: 127.0.0.1\n  port: {port}\n  username: {SMTP_LOGIN[0]}\n"
            f"  password_file: {password_file}\n  ca_file: {certificate}\n"
        )
        with scheduling_server(tmp_path, smtp, max_attempts=2) as server:
            alice = person(server, "alice")
            uid = str(uuid.uuid4())
            answer = put(server, alice, "r.ics", event(uid, alice, [busy, refused, fine]))
            copy = status_of(server, alice, "r.ics", refused)
            assert schedule_status(copy, refused) == "3.7"
            assert schedule_status(copy, busy) == "1.1"  # tried once, before the refused one
            assert sink.recipients_tried.count(busy[7:]) == 1
            assert sink.recipients_tried.count(refused[7:]) == 1
            assert copy.headers["Schedule-Tag"] == answer.headers["Schedule-Tag"]
            (invitation,) = mails_to(sink, fine[7:], 1)
            assert calendar_part(invitation)[0] == "REQUEST"
            assert schedule_status(copy, fine) == "1.1"


def test_an_attendee_deleting_the_event_declines_it(server):
    alice, bob = person(server, "alice"), person(server, "bob")
    uid = str(uuid.uuid4())
    put(server, alice, "d.ics", event(uid, alice, [bob.mailto]))
    copy = copy_of(server, bob, uid)
    assert requests.delete(str(copy.url), auth=bob.auth, timeout=30).status_code in (200, 204)
    mine = master(stored(server, alice, "d.ics"))
    assert attendee(mine, bob.mailto).params["PARTSTAT"] == "DECLINED"
    (reply,) = [c for c in inbox(server, alice) if c["METHOD"] == "REPLY"]
    assert attendee(master(reply), bob.mailto).params["PARTSTAT"] == "DECLINED"


def clocked_server(folder: Path, smtp: str, now: datetime, extra: str = "") -> MurmeliServer:
    """A server of its own whose clock is the file ``folder/clock``, set to ``now``."""
    (folder / "clock").write_text(now.isoformat())
    config = folder / "murmeli.yaml"
    config.write_text(
        f"server:\n  test_clock_file: {folder / 'clock'}\n"
        f"smtp:\n{smtp}  from_address: calendar@example.org\n"
        f"scheduling:\n  poll_interval: 200ms\n{extra}"
    )
    return MurmeliServer(folder / "data", config=config)


def sink_smtp(folder: Path, certificate: str, port: int) -> str:
    password_file = folder / "smtp-password"
    password_file.write_text(SMTP_LOGIN[1] + "\n")
    return (
        f"  host: 127.0.0.1\n  port: {port}\n  username: {SMTP_LOGIN[0]}\n"
        f"  password_file: {password_file}\n  ca_file: {certificate}\n"
    )


def answer_links(mail: EmailMessage) -> dict[str, str]:
    return {kind: url for url, kind in ANSWER_LINK.findall(mail.get_body(("plain",)).get_content())}


def test_answer_links_are_gone_after_an_update_and_expire_after_link_days(tmp_path):
    with smtp_sink(tmp_path, SMTP_LOGIN) as (sink, certificate, port):
        smtp = sink_smtp(tmp_path, certificate, port)
        server = clocked_server(tmp_path, smtp, DAY, "  link_days: 2\n").start()
        try:
            alice, carol, dora = person(server, "alice"), outsider(), outsider()
            uid = str(uuid.uuid4())
            put(server, alice, "l.ics", event(uid, alice, [f"mailto:{carol}"]))
            first = answer_links(mails_to(sink, carol, 1)[0])
            moved = event(uid, alice, [f"mailto:{carol}"], start=DAY + timedelta(hours=11))
            put(server, alice, "l.ics", moved)
            second = answer_links(mails_to(sink, carol, 2)[1])
            stale = requests.post(first["accept"], timeout=30)
            assert stale.status_code == 410 and "newest invitation" in stale.text
            assert requests.post(second["tentative"], timeout=30).status_code == 200
            mine = master(stored(server, alice, "l.ics"))
            assert attendee(mine, f"mailto:{carol}").params["PARTSTAT"] == "TENTATIVE"

            put(server, alice, "e.ics", event(str(uuid.uuid4()), alice, [f"mailto:{dora}"]))
            links = answer_links(mails_to(sink, dora, 1)[0])
            (tmp_path / "clock").write_text((DAY + timedelta(days=2, hours=-1)).isoformat())
            assert requests.get(links["accept"], timeout=30).status_code == 200  # still valid
            (tmp_path / "clock").write_text((DAY + timedelta(days=2, hours=1)).isoformat())
            expired = requests.post(links["accept"], timeout=30)
            assert expired.status_code == 410 and "expired" in expired.text
            mine = master(stored(server, alice, "e.ics"))
            assert attendee(mine, f"mailto:{dora}").params["PARTSTAT"] == "NEEDS-ACTION"
            made_up = links["accept"].rsplit("/", 2)[0] + "/" + "B" * 43 + "/accept"
            assert requests.post(made_up, timeout=30).status_code == 404
        finally:
            server.stop()
    server.assert_log_clean()


def queued_mail(server: MurmeliServer) -> list[tuple[str, object]]:
    with sqlite3.connect(server.data / "murmeli.sqlite3") as connection:
        return connection.execute("SELECT recipient, sent_at FROM scheduling_mail").fetchall()


def test_without_smtp_host_invitations_stay_queued_until_a_server_is_configured(tmp_path):
    carol = outsider()
    server = clocked_server(tmp_path, "", DAY).start()
    try:
        alice = person(server, "alice")
        put(server, alice, "q.ics", event(str(uuid.uuid4()), alice, [f"mailto:{carol}"]))
        assert queued_mail(server) == [(carol, None)]
        copy = stored(server, alice, "q.ics")
        assert attendee(master(copy), f"mailto:{carol}").params["SCHEDULE-STATUS"] == "1.1"
    finally:
        server.stop()
    assert any("smtp.host is not set, so invitations stay queued" in line for line in server.log)
    assert queued_mail(server) == [(carol, None)]  # never tried, never given up

    with smtp_sink(tmp_path, SMTP_LOGIN) as (sink, certificate, port):
        again = clocked_server(tmp_path, sink_smtp(tmp_path, certificate, port), DAY).start()
        try:
            (invitation,) = mails_to(sink, carol, 1)
            assert calendar_part(invitation)[0] == "REQUEST"
        finally:
            again.stop()
    assert [sent for _, sent in queued_mail(server)] != [None]


def test_with_scheduling_disabled_events_are_stored_as_sent_and_nobody_is_invited(tmp_path):
    with smtp_sink(tmp_path, SMTP_LOGIN) as (sink, certificate, port):
        smtp = sink_smtp(tmp_path, certificate, port)
        server = clocked_server(tmp_path, smtp, DAY, "  enabled: false\n").start()
        try:
            alice, bob, carol = person(server, "alice"), person(server, "bob"), outsider()
            principal = requests.request(
                "OPTIONS", f"{server.url}/{alice.name}/", auth=alice.auth, timeout=30
            )
            assert "calendar-auto-schedule" not in principal.headers.get("DAV", "")
            text = event(str(uuid.uuid4()), alice, [bob.mailto, f"mailto:{carol}"])
            answer = put(server, alice, "n.ics", text)
            assert "ETag" in answer.headers  # stored as sent
            mine = master(stored(server, alice, "n.ics"))
            assert "SCHEDULE-STATUS" not in attendee(mine, bob.mailto).params
            assert "Schedule-Tag" not in answer.headers
            calendars = client(server, bob).principal().get_calendars()
            assert [e for c in calendars for e in c.events()] == []
            assert requests.get(
                f"{server.url}/api/scheduling/answer/{'A' * 43}/accept", timeout=30
            ).status_code in (401, 404)
        finally:
            server.stop()
    assert queued_mail(server) == []
    assert sink.messages == []


def test_only_the_attendee_sets_their_own_answer(server):
    """RFC 6638 §3.2.1.1: an answer the organiser's client writes for a local attendee is not
    copied into the attendee's calendar; the attendee's own answer survives updates."""
    alice, bob = person(server, "alice"), person(server, "bob")
    uid = str(uuid.uuid4())
    forged = event(uid, alice, [bob.mailto]).replace(
        f"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{bob.mailto}", f"PARTSTAT=ACCEPTED:{bob.mailto}"
    )
    put(server, alice, "forged.ics", forged)
    theirs = copy_of(server, bob, uid).icalendar_component
    assert attendee(theirs, bob.mailto).params["PARTSTAT"] == "NEEDS-ACTION"
    (request,) = inbox(server, bob)
    assert attendee(master(request), bob.mailto).params["PARTSTAT"] == "NEEDS-ACTION"

    copy = copy_of(server, bob, uid)
    tentative = icalendar.Calendar.from_ical(copy.data)
    attendee(master(tentative), bob.mailto).params["PARTSTAT"] = "TENTATIVE"
    answer = requests.put(str(copy.url), data=tentative.to_ical(), auth=bob.auth, timeout=30)
    assert answer.status_code == 204, answer.text
    organiser_copy = stored(server, alice, "forged.ics")
    master(organiser_copy)["SUMMARY"] = "Planning, new agenda"
    attendee(master(organiser_copy), bob.mailto).params["PARTSTAT"] = "DECLINED"
    put(server, alice, "forged.ics", organiser_copy.to_ical().decode())
    theirs = copy_of(server, bob, uid).icalendar_component
    assert str(theirs["SUMMARY"]) == "Planning, new agenda"
    assert attendee(theirs, bob.mailto).params["PARTSTAT"] == "TENTATIVE"


def test_invitation_mails_carry_every_zone_they_use_and_a_fresh_stamp(server, sink):
    """A client may leave the VTIMEZONE out of its PUT; the mail program still needs it.
    Each update is a new message: a new DTSTAMP (RFC 5546 §2.1.5)."""
    alice, carol = person(server, "alice"), outsider()
    zoned = event(str(uuid.uuid4()), alice, [f"mailto:{carol}"]).replace(
        "DTSTART:20310303T090000Z", "DTSTART;TZID=Europe/Berlin:20310303T100000"
    ).replace("DTEND:20310303T100000Z", "DTEND;TZID=Europe/Berlin:20310303T110000")
    assert "TZID=Europe/Berlin" in zoned and "BEGIN:VTIMEZONE" not in zoned
    put(server, alice, "zoned.ics", zoned)
    organiser_copy = stored(server, alice, "zoned.ics")
    master(organiser_copy)["SUMMARY"] = "Planning, second draft"
    put(server, alice, "zoned.ics", organiser_copy.to_ical().decode())
    first, second = (calendar_part(mail)[1] for mail in mails_to(sink, carol, 2))
    for invitation in (first, second):
        (zone,) = invitation.walk("VTIMEZONE")
        assert str(zone["TZID"]) == "Europe/Berlin"
    stamps = [master(invitation)["DTSTAMP"].dt for invitation in (first, second)]
    assert datetime(2031, 1, 1, tzinfo=UTC) not in stamps  # the client's, kept by its PUTs
    assert stamps[1] >= stamps[0]


def default_calendar_url(server: MurmeliServer, who: Person) -> str:
    body = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><C:schedule-default-calendar-URL/></D:prop></D:propfind>"
    )
    answer = requests.request(
        "PROPFIND", f"{server.url}/{who.name}/", data=body, auth=who.auth,
        headers={"Depth": "0"}, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 207, answer.text
    found = re.search(r"<href>([^<]+)</href></C:schedule-default-calendar-URL>", answer.text)
    assert found, answer.text
    return found[1]


def test_invitations_find_a_calendar_after_the_default_one_was_deleted(server):
    alice, bob = person(server, "alice"), person(server, "bob")
    client(server, bob).principal().make_calendar(name="Work", cal_id="work")
    for deleted, remaining in (("calendar", "work"), ("work", "calendar")):
        gone = requests.delete(f"{server.url}/{bob.name}/{deleted}/", auth=bob.auth, timeout=30)
        assert gone.status_code in (200, 204)
        assert default_calendar_url(server, bob) == f"/{bob.name}/{remaining}/"
        uid = str(uuid.uuid4())
        put(server, alice, f"{uid}.ics", event(uid, alice, [bob.mailto]))
        invited = attendee(master(stored(server, alice, f"{uid}.ics")), bob.mailto)
        assert invited.params["SCHEDULE-STATUS"] == "1.2"
        calendar = client(server, bob).principal().calendar(cal_url=f"/{bob.name}/{remaining}/")
        assert calendar.event_by_uid(uid)  # the second time in `calendar/` made anew
