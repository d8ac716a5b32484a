"""Acceptance tests: a real ``murmeli serve`` process driven by real DAV clients.

CalDAV goes through the ``caldav`` library (discovery, events, tasks,
time-range searches, conflicting saves); CardDAV, which that library does not
speak, and the raw authentication and precondition checks go through
``requests``. Every test makes its own users, so the tests do not depend on
one another or on the order they run in.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from zoneinfo import ZoneInfo

import caldav
import icalendar
import pytest
import requests
import vobject
from caldav.lib import error

from tests.murmeli_process import MurmeliServer

ZURICH = ZoneInfo("Europe/Zurich")
UTC = dt.UTC
DAV = "{DAV:}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
TIMEOUT = 30

VTIMEZONE_ZURICH = """BEGIN:VTIMEZONE
TZID:Europe/Zurich
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
END:DAYLIGHT
END:VTIMEZONE"""


# --- accounts and clients ----------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    server: MurmeliServer
    name: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return self.name, self.password

    def url(self, path: str = "") -> str:
        return f"{self.server.url}/{self.name}/{path}"

    def client(self) -> caldav.DAVClient:
        # auth_type="basic" sends credentials at once; without it caldav first asks
        # anonymously and Radicale holds every anonymous 401 back for a second.
        return caldav.DAVClient(
            url=self.server.url,
            username=self.name,
            password=self.password,
            auth_type="basic",
            timeout=TIMEOUT,
        )

    def calendar(self) -> caldav.Calendar:
        calendars = self.client().principal().calendars()
        assert len(calendars) == 1, [str(c.url) for c in calendars]
        return calendars[0]

    def open(self, method: str, url: str, **kwargs) -> requests.Response:
        """A raw request to ``url`` with this account's credentials."""
        return requests.request(method, url, auth=self.auth, timeout=TIMEOUT, **kwargs)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """A raw request to ``path`` under this account's home."""
        return self.open(method, self.url(path), **kwargs)


@pytest.fixture
def account(server: MurmeliServer) -> Account:
    return Account(server, *server.add_user("dav"))


@pytest.fixture
def calendar(account: Account) -> caldav.Calendar:
    return account.calendar()


# --- iCalendar samples and helpers -------------------------------------------------------


def vcalendar(*components: str) -> str:
    body = "\n".join(components)
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Murmeli tests//EN\n{body}\nEND:VCALENDAR\n"


def vevent(uid: str, *lines: str) -> str:
    return "\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", *lines, "END:VEVENT"]
    )


TIMED = vcalendar(
    VTIMEZONE_ZURICH,
    vevent(
        "timed-1@murmeli.test",
        "SUMMARY:Budget review",
        "DTSTART;TZID=Europe/Zurich:20250714T100000",
        "DTEND;TZID=Europe/Zurich:20250714T113000",
        "LOCATION:Zürich, Raum 3",
    ),
)

ALL_DAY = vcalendar(
    vevent(
        "allday-1@murmeli.test",
        "SUMMARY:Bundesfeier",
        "DTSTART;VALUE=DATE:20250801",
        "DTEND;VALUE=DATE:20250802",
        "TRANSP:TRANSPARENT",
    )
)

RECURRING = vcalendar(
    VTIMEZONE_ZURICH,
    vevent(
        "standup-1@murmeli.test",
        "SUMMARY:Standup",
        "DTSTART;TZID=Europe/Zurich:20250303T090000",
        "DTEND;TZID=Europe/Zurich:20250303T091500",
        "RRULE:FREQ=DAILY;COUNT=5",
        "EXDATE;TZID=Europe/Zurich:20250305T090000",
    ),
    vevent(
        "standup-1@murmeli.test",
        "SUMMARY:Standup (moved)",
        "RECURRENCE-ID;TZID=Europe/Zurich:20250306T090000",
        "DTSTART;TZID=Europe/Zurich:20250306T140000",
        "DTEND;TZID=Europe/Zurich:20250306T141500",
    ),
)

WITH_ALARM = vcalendar(
    vevent(
        "alarm-1@murmeli.test",
        "SUMMARY:Dentist",
        "DTSTART:20250910T073000Z",
        "DTEND:20250910T080000Z",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:Dentist in 15 minutes",
        "TRIGGER:-PT15M",
        "END:VALARM",
    )
)


def components(event: caldav.CalendarObjectResource) -> list[icalendar.Component]:
    """The VEVENTs of an object as the server returned it, master first."""
    calendar = icalendar.Calendar.from_ical(event.data)
    return sorted(calendar.walk("VEVENT"), key=lambda c: "RECURRENCE-ID" in c)


def reload(calendar: caldav.Calendar, uid: str) -> list[icalendar.Component]:
    """Fetch the object afresh from the server by its UID."""
    return components(calendar.event_by_uid(uid))


def edit(
    event: caldav.CalendarObjectResource, change: Callable[[icalendar.Calendar], None]
) -> None:
    """Apply ``change`` to the object's iCalendar data and PUT it back."""
    parsed = icalendar.Calendar.from_ical(event.data)
    change(parsed)
    event.data = parsed.to_ical().decode()
    event.save()


def delete_and_check_gone(calendar: caldav.Calendar, uid: str) -> None:
    event = calendar.event_by_uid(uid)
    event.delete()
    with pytest.raises(error.NotFoundError):
        calendar.event_by_uid(uid)
    assert uid not in {str(e.icalendar_component["UID"]) for e in calendar.events()}
    with pytest.raises(error.NotFoundError):
        event.load()  # a plain GET of the item's URL


def set_summary(summary: str) -> Callable[[icalendar.Calendar], None]:
    def change(parsed: icalendar.Calendar) -> None:
        master = next(c for c in parsed.walk("VEVENT") if "RECURRENCE-ID" not in c)
        master["SUMMARY"] = summary

    return change


def ics_headers(etag: str | None = None) -> dict[str, str]:
    """Headers of a raw iCalendar PUT, conditional on ``etag`` when given."""
    headers = {"Content-Type": "text/calendar; charset=utf-8"}
    if etag:
        headers["If-Match"] = etag
    return headers


# --- 1. discovery ------------------------------------------------------------------------


def test_principal_finds_the_default_calendar(account: Account) -> None:
    principal = account.client().principal()
    assert principal.url.path == f"/{account.name}/"
    assert principal.calendar_home_set.url.path == f"/{account.name}/"
    calendars = principal.calendars()
    assert [c.url.path for c in calendars] == [f"/{account.name}/calendar/"]
    assert calendars[0].get_display_name() == "Calendar"
    assert set(calendars[0].get_supported_components()) == {"VEVENT", "VTODO", "VJOURNAL"}


def test_discovery_from_well_known_reaches_the_same_calendar(account: Account) -> None:
    client = caldav.DAVClient(
        url=f"{account.server.url}/.well-known/caldav",
        username=account.name,
        password=account.password,
        auth_type="basic",
        timeout=TIMEOUT,
    )
    calendars = client.principal().calendars()
    assert [c.url.path for c in calendars] == [f"/{account.name}/calendar/"]


# --- 2. events ---------------------------------------------------------------------------


def test_timed_event_with_tzid_round_trips(calendar: caldav.Calendar) -> None:
    uid = "timed-1@murmeli.test"
    calendar.add_event(TIMED)
    stored = calendar.event_by_uid(uid)
    assert "TZID:Europe/Zurich" in stored.data  # the VTIMEZONE is kept
    (event,) = components(stored)
    assert event["SUMMARY"] == "Budget review"
    assert event["LOCATION"] == "Zürich, Raum 3"
    assert event["DTSTART"].params["TZID"] == "Europe/Zurich"
    assert event["DTSTART"].dt == dt.datetime(2025, 7, 14, 10, 0, tzinfo=ZURICH)
    assert event["DTSTART"].dt == dt.datetime(2025, 7, 14, 8, 0, tzinfo=UTC)

    def postpone(parsed: icalendar.Calendar) -> None:
        set_summary("Budget review (postponed)")(parsed)
        master = parsed.walk("VEVENT")[0]
        master["DTSTART"].dt = dt.datetime(2025, 7, 15, 14, 0, tzinfo=ZURICH)
        master["DTEND"].dt = dt.datetime(2025, 7, 15, 15, 0, tzinfo=ZURICH)

    edit(stored, postpone)
    (event,) = reload(calendar, uid)
    assert event["SUMMARY"] == "Budget review (postponed)"
    assert event["DTSTART"].dt == dt.datetime(2025, 7, 15, 12, 0, tzinfo=UTC)
    assert event["DTEND"].dt == dt.datetime(2025, 7, 15, 13, 0, tzinfo=UTC)
    delete_and_check_gone(calendar, uid)


def test_all_day_event_round_trips(calendar: caldav.Calendar) -> None:
    uid = "allday-1@murmeli.test"
    calendar.add_event(ALL_DAY)
    (event,) = reload(calendar, uid)
    assert event["SUMMARY"] == "Bundesfeier"
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert type(event["DTSTART"].dt) is dt.date
    assert event["DTSTART"].dt == dt.date(2025, 8, 1)
    assert event["DTEND"].dt == dt.date(2025, 8, 2)

    edit(calendar.event_by_uid(uid), set_summary("Nationalfeiertag"))
    (event,) = reload(calendar, uid)
    assert event["SUMMARY"] == "Nationalfeiertag"
    assert event["DTSTART"].dt == dt.date(2025, 8, 1)
    delete_and_check_gone(calendar, uid)


def test_all_day_event_is_found_on_its_day_only(calendar: caldav.Calendar) -> None:
    calendar.add_event(ALL_DAY)
    on_the_day = calendar.search(
        start=dt.datetime(2025, 8, 1, 12, tzinfo=UTC),
        end=dt.datetime(2025, 8, 1, 13, tzinfo=UTC),
        event=True,
    )
    day_after = calendar.search(
        start=dt.datetime(2025, 8, 2, 12, tzinfo=UTC),
        end=dt.datetime(2025, 8, 3, tzinfo=UTC),
        event=True,
    )
    assert [str(e.icalendar_component["UID"]) for e in on_the_day] == ["allday-1@murmeli.test"]
    assert day_after == []


def test_recurring_event_with_exception_round_trips(calendar: caldav.Calendar) -> None:
    uid = "standup-1@murmeli.test"
    calendar.add_event(RECURRING)
    master, moved = reload(calendar, uid)
    assert master["SUMMARY"] == "Standup"
    assert master["DTSTART"].dt == dt.datetime(2025, 3, 3, 9, 0, tzinfo=ZURICH)
    assert master["RRULE"] == {"FREQ": ["DAILY"], "COUNT": [5]}
    assert [d.dt for d in master["EXDATE"].dts] == [dt.datetime(2025, 3, 5, 9, 0, tzinfo=ZURICH)]
    assert moved["RECURRENCE-ID"].dt == dt.datetime(2025, 3, 6, 9, 0, tzinfo=ZURICH)
    assert moved["DTSTART"].dt == dt.datetime(2025, 3, 6, 14, 0, tzinfo=ZURICH)
    assert moved["SUMMARY"] == "Standup (moved)"

    def move_again(parsed: icalendar.Calendar) -> None:
        override = next(c for c in parsed.walk("VEVENT") if "RECURRENCE-ID" in c)
        override["DTSTART"].dt = dt.datetime(2025, 3, 6, 16, 0, tzinfo=ZURICH)
        override["DTEND"].dt = dt.datetime(2025, 3, 6, 16, 15, tzinfo=ZURICH)

    edit(calendar.event_by_uid(uid), move_again)
    master, moved = reload(calendar, uid)
    assert master["RRULE"] == {"FREQ": ["DAILY"], "COUNT": [5]}
    assert moved["DTSTART"].dt == dt.datetime(2025, 3, 6, 16, 0, tzinfo=ZURICH)
    delete_and_check_gone(calendar, uid)


@pytest.mark.parametrize("server_expand", [False, True], ids=["client-expand", "server-expand"])
def test_recurring_event_expands_in_a_time_range(
    calendar: caldav.Calendar, server_expand: bool
) -> None:
    calendar.add_event(RECURRING)
    found = calendar.search(
        start=dt.datetime(2025, 3, 1, tzinfo=UTC),
        end=dt.datetime(2025, 3, 10, tzinfo=UTC),
        event=True,
        expand=True,
        server_expand=server_expand,
    )
    occurrences = sorted((c["DTSTART"].dt, str(c["SUMMARY"])) for e in found for c in components(e))
    assert occurrences == [
        (dt.datetime(2025, 3, 3, 9, 0, tzinfo=ZURICH), "Standup"),
        (dt.datetime(2025, 3, 4, 9, 0, tzinfo=ZURICH), "Standup"),
        # 5 March is an EXDATE; the 6 March occurrence moved to the afternoon.
        (dt.datetime(2025, 3, 6, 14, 0, tzinfo=ZURICH), "Standup (moved)"),
        (dt.datetime(2025, 3, 7, 9, 0, tzinfo=ZURICH), "Standup"),
    ]


def test_recurring_event_outside_the_range_is_not_found(calendar: caldav.Calendar) -> None:
    calendar.add_event(RECURRING)
    after_last = calendar.search(
        start=dt.datetime(2025, 3, 8, tzinfo=UTC),
        end=dt.datetime(2025, 4, 1, tzinfo=UTC),
        event=True,
        expand=True,
        server_expand=True,
    )
    assert after_last == []


def test_event_with_alarm_round_trips(calendar: caldav.Calendar) -> None:
    uid = "alarm-1@murmeli.test"
    calendar.add_event(WITH_ALARM)
    stored = calendar.event_by_uid(uid)
    (alarm,) = stored.icalendar_component.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == dt.timedelta(minutes=-15)

    def earlier(parsed: icalendar.Calendar) -> None:
        parsed.walk("VALARM")[0]["TRIGGER"].dt = dt.timedelta(minutes=-30)

    edit(stored, earlier)
    (alarm,) = calendar.event_by_uid(uid).icalendar_component.walk("VALARM")
    assert alarm["TRIGGER"].dt == dt.timedelta(minutes=-30)
    assert calendar.event_by_uid(uid).icalendar_component["SUMMARY"] == "Dentist"
    delete_and_check_gone(calendar, uid)


def test_sync_token_reports_only_what_changed(calendar: caldav.Calendar) -> None:
    calendar.add_event(TIMED)
    before = calendar.objects_by_sync_token(load_objects=False)
    assert len(list(before)) == 1
    calendar.add_event(ALL_DAY)
    changed = calendar.objects_by_sync_token(sync_token=before.sync_token, load_objects=True)
    assert [str(o.icalendar_component["UID"]) for o in changed] == ["allday-1@murmeli.test"]
    assert changed.sync_token != before.sync_token


# --- 3. tasks ----------------------------------------------------------------------------


def test_todo_is_listed_then_completed(calendar: caldav.Calendar) -> None:
    due = dt.datetime(2025, 4, 1, 17, 0, tzinfo=UTC)
    calendar.add_todo(summary="Pay invoice", uid="todo-1@murmeli.test", due=due, priority=1)
    (todo,) = calendar.todos()
    task = todo.icalendar_component
    assert (task["SUMMARY"], task["PRIORITY"], task["DUE"].dt) == ("Pay invoice", 1, due)
    assert task["STATUS"] == "NEEDS-ACTION"

    todo.complete()
    assert calendar.todos() == []  # only pending tasks by default
    (done,) = calendar.todos(include_completed=True)
    task = done.icalendar_component
    assert task["STATUS"] == "COMPLETED"
    assert isinstance(task["COMPLETED"].dt, dt.datetime)
    assert task["DUE"].dt == due


# --- 4. update conflicts -----------------------------------------------------------------


def test_stale_etag_is_refused(account: Account, calendar: caldav.Calendar) -> None:
    item = str(calendar.add_event(TIMED).url)
    first = account.open("GET", item)
    assert first.status_code == 200
    stale = first.headers["ETag"]

    newer = first.text.replace("Budget review", "Budget review v2")
    saved = account.open("PUT", item, data=newer.encode(), headers=ics_headers(stale))
    assert saved.status_code in (200, 201, 204)
    assert saved.headers["ETag"] != stale

    lost = first.text.replace("Budget review", "Lost update")
    assert (
        account.open("PUT", item, data=lost.encode(), headers=ics_headers(stale)).status_code == 412
    )
    assert account.open("DELETE", item, headers={"If-Match": stale}).status_code == 412
    create_only = {**ics_headers(), "If-None-Match": "*"}
    assert account.open("PUT", item, data=lost.encode(), headers=create_only).status_code == 412
    assert "Budget review v2" in account.open("GET", item).text


def test_caldav_save_of_a_stale_copy_is_refused(account: Account) -> None:
    mine, theirs = account.calendar(), account.calendar()
    mine.add_event(TIMED)
    early = theirs.event_by_uid("timed-1@murmeli.test")
    edit(mine.event_by_uid("timed-1@murmeli.test"), set_summary("Edited first"))
    with pytest.raises(error.ETagMismatchError):
        edit(early, set_summary("Edited from a stale copy"))
    (event,) = reload(mine, "timed-1@murmeli.test")
    assert event["SUMMARY"] == "Edited first"


# --- 5. contacts -------------------------------------------------------------------------

VCARD3 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ada-3\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\n"
    "EMAIL;TYPE=INTERNET:ada@example.org\r\nTEL;TYPE=CELL:+41 79 000 00 00\r\nEND:VCARD\r\n"
)
VCARD4 = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:grace-4\r\nKIND:individual\r\nFN:Grace Hopper\r\n"
    "N:Hopper;Grace;;;\r\nEMAIL;TYPE=work:grace@example.org\r\n"
    "TEL;VALUE=uri;TYPE=cell:tel:+1-555-0100\r\nEND:VCARD\r\n"
)
VCARD_HEADERS = {"Content-Type": "text/vcard; charset=utf-8"}
ADDRESSBOOK_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data/></D:prop>
  <C:filter><C:prop-filter name="FN"/></C:filter>
</C:addressbook-query>"""


def put_card(account: Account, uid: str, card: str, **headers: str) -> requests.Response:
    return account.request(
        "PUT", f"contacts/{uid}.vcf", data=card.encode(), headers={**VCARD_HEADERS, **headers}
    )


def get_card(account: Account, uid: str) -> vobject.base.Component:
    answer = account.request("GET", f"contacts/{uid}.vcf")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/vcard")
    return vobject.readOne(answer.text)


def multistatus(answer: requests.Response) -> ET.Element:
    assert answer.status_code == 207, answer.text
    return ET.fromstring(answer.content)


def cards_by_href(account: Account) -> dict[str, str]:
    """href -> FN of every card, from an addressbook-query REPORT."""
    answer = account.request(
        "REPORT",
        "contacts/",
        data=ADDRESSBOOK_QUERY,
        headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
    )
    found = {}
    for response in multistatus(answer).iter(f"{DAV}response"):
        data = response.findtext(f".//{CARDDAV}address-data")
        found[response.findtext(f"{DAV}href")] = vobject.readOne(data).fn.value
    return found


def member_hrefs(account: Account, path: str) -> set[str]:
    answer = account.request("PROPFIND", path, headers={"Depth": "1"})
    hrefs = {r.findtext(f"{DAV}href") for r in multistatus(answer).iter(f"{DAV}response")}
    return hrefs - {f"/{account.name}/{path}"}


def test_addressbook_is_discoverable(account: Account) -> None:
    body = (
        '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:addressbook-home-set/>'
        "</D:prop></D:propfind>"
    )
    answer = account.request("PROPFIND", "", data=body, headers={"Depth": "0"})
    home = multistatus(answer).findtext(f".//{CARDDAV}addressbook-home-set/{DAV}href")
    assert home == f"/{account.name}/"
    listing = multistatus(account.request("PROPFIND", "", headers={"Depth": "1"}))
    books = [
        r.findtext(f"{DAV}href")
        for r in listing.iter(f"{DAV}response")
        if r.find(f".//{DAV}resourcetype/{CARDDAV}addressbook") is not None
    ]
    assert books == [f"/{account.name}/contacts/"]


def test_vcard_3_round_trips(account: Account) -> None:
    answer = put_card(account, "ada-3", VCARD3, **{"If-None-Match": "*"})
    assert answer.status_code == 201
    card = get_card(account, "ada-3")
    assert card.version.value == "3.0"
    assert card.uid.value == "ada-3"
    assert card.fn.value == "Ada Lovelace"
    assert (card.n.value.family, card.n.value.given) == ("Lovelace", "Ada")
    assert card.email.value == "ada@example.org"
    assert card.tel.value == "+41 79 000 00 00"


def test_vcard_4_round_trips(account: Account) -> None:
    assert put_card(account, "grace-4", VCARD4).status_code == 201
    card = get_card(account, "grace-4")
    assert card.version.value == "4.0"
    assert card.kind.value == "individual"
    assert card.uid.value == "grace-4"
    assert card.fn.value == "Grace Hopper"
    assert (card.n.value.family, card.n.value.given) == ("Hopper", "Grace")
    assert card.email.value == "grace@example.org"
    assert card.tel.value == "tel:+1-555-0100"


def test_contacts_are_listed_updated_and_deleted(account: Account) -> None:
    put_card(account, "ada-3", VCARD3)
    put_card(account, "grace-4", VCARD4)
    ada, grace = (f"/{account.name}/contacts/{uid}.vcf" for uid in ("ada-3", "grace-4"))
    assert cards_by_href(account) == {ada: "Ada Lovelace", grace: "Grace Hopper"}
    assert member_hrefs(account, "contacts/") == {ada, grace}

    etag = account.request("GET", "contacts/ada-3.vcf").headers["ETag"]
    renamed = VCARD3.replace("FN:Ada Lovelace", "FN:Ada King")
    assert put_card(account, "ada-3", renamed, **{"If-Match": etag}).status_code in (200, 204)
    assert get_card(account, "ada-3").fn.value == "Ada King"
    assert put_card(account, "ada-3", VCARD3, **{"If-Match": etag}).status_code == 412

    assert account.request("DELETE", "contacts/grace-4.vcf").status_code in (200, 204)
    assert account.request("GET", "contacts/grace-4.vcf").status_code == 404
    assert cards_by_href(account) == {ada: "Ada King"}
    assert member_hrefs(account, "contacts/") == {ada}


# --- 6. authentication -------------------------------------------------------------------


def test_no_credentials_is_challenged(account: Account) -> None:
    answer = requests.request(
        "PROPFIND", account.url("calendar/"), headers={"Depth": "1"}, timeout=TIMEOUT
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].lower().startswith("basic ")


def test_wrong_password_is_refused(account: Account) -> None:
    answer = requests.get(account.url("calendar/"), auth=(account.name, "wrong"), timeout=TIMEOUT)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].lower().startswith("basic ")
    intruder = Account(account.server, account.name, account.password + "x")
    with pytest.raises(error.AuthorizationError):
        intruder.client().principal()


def test_other_users_calendar_is_refused(server: MurmeliServer) -> None:
    owner, other = (Account(server, *server.add_user(prefix)) for prefix in ("owner", "other"))
    item = str(owner.calendar().add_event(TIMED).url)
    hijack = TIMED.replace("Budget review", "Hijacked").encode()
    attempts = [
        partial(other.open, "GET", item),
        partial(other.open, "PUT", item, data=hijack, headers=ics_headers()),
        partial(other.open, "DELETE", item),
        partial(other.open, "PROPFIND", owner.url("calendar/"), headers={"Depth": "1"}),
        partial(other.open, "PROPFIND", owner.url(), headers={"Depth": "1"}),
    ]
    # Radicale holds each refusal back for a second; ask all at once.
    with ThreadPoolExecutor(len(attempts)) as pool:
        answers = list(pool.map(lambda attempt: attempt(), attempts))
    for answer in answers:
        assert answer.status_code in (403, 404), (answer.request.method, answer.status_code)
        assert "Budget review" not in answer.text
    with pytest.raises((error.AuthorizationError, error.NotFoundError)):
        other.client().calendar(url=owner.url("calendar/")).events()
    (event,) = reload(owner.calendar(), "timed-1@murmeli.test")
    assert event["SUMMARY"] == "Budget review"


def test_other_users_items_do_not_leak_into_own_answers(server: MurmeliServer) -> None:
    owner, other = (Account(server, *server.add_user(prefix)) for prefix in ("owner", "other"))
    item = owner.calendar().add_event(TIMED).url.path
    other.calendar()  # provisions the other user's collections
    multiget = (
        '<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" '
        'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/>'
        f"</D:prop><D:href>{item}</D:href></C:calendar-multiget>"
    )
    answer = other.request("REPORT", "calendar/", data=multiget, headers={"Depth": "1"})
    statuses = [r.findtext(f"{DAV}status") for r in multistatus(answer).iter(f"{DAV}response")]
    assert statuses == ["HTTP/1.1 404 Not Found"]
    assert "Budget review" not in answer.text
    root = other.open("PROPFIND", f"{server.url}/", headers={"Depth": "1"})
    hrefs = {r.findtext(f"{DAV}href") for r in multistatus(root).iter(f"{DAV}response")}
    assert f"/{owner.name}/" not in hrefs
    assert owner.name not in root.text
