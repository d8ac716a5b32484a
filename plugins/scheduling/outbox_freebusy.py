"""Free-busy through the schedule outbox (RFC 6638 §3.2.9): what fills the availability grid
of Apple Calendar and Thunderbird.

A client POSTs a VFREEBUSY REQUEST naming the organiser (who must be the
account that posts) and the attendees; the answer is a ``schedule-response``
with, per attendee, a request status and a VFREEBUSY REPLY holding only busy
time. Whose time an organiser may see is the availability plugin's rule
(plugins/availability/visibility.py): an attendee outside it gets 3.8, an
address of nobody here 3.7, and no busy time at all.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

from davserver.accounts.directory import User
from plugins.availability.freebusy import vfreebusy
from plugins.availability.lookup import Availability
from plugins.availability.visibility import NO_SUCH_USER, Unknown
from plugins.scheduling.itip import address
from plugins.scheduling.properties import CALDAV, DAV

SUCCESS = "2.0;Success"
INVALID_USER = "3.7;Invalid calendar user"
NO_AUTHORITY = "3.8;No authority"


class FreeBusyRefused(ValueError):
    """The request cannot be answered; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class FreeBusyRequest:
    uid: str | None
    organiser: str
    attendees: tuple[str, ...]
    start: datetime
    end: datetime


def parse_request(body: bytes, max_attendees: int, max_days: int) -> FreeBusyRequest:
    """The request of a POST body, or FreeBusyRefused(400) naming what is wrong."""
    try:
        calendar = icalendar.Calendar.from_ical(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise FreeBusyRefused(400, f"body is not iCalendar: {error}") from None
    if str(calendar.get("METHOD", "")).upper() != "REQUEST":
        raise FreeBusyRefused(400, "METHOD must be REQUEST")
    components = calendar.walk("VFREEBUSY")
    if len(components) != 1:
        raise FreeBusyRefused(400, "exactly one VFREEBUSY is expected")
    component = components[0]
    start, end = _moment(component, "DTSTART"), _moment(component, "DTEND")
    if end <= start:
        raise FreeBusyRefused(400, "DTEND must be after DTSTART")
    if end - start > timedelta(days=max_days):
        raise FreeBusyRefused(400, f"the range is longer than {max_days} days")
    organiser = component.get("ORGANIZER")
    if organiser is None:
        raise FreeBusyRefused(400, "ORGANIZER is required")
    attendees = component.get("ATTENDEE", [])
    attendees = [str(a) for a in (attendees if isinstance(attendees, list) else [attendees])]
    if not attendees:
        raise FreeBusyRefused(400, "at least one ATTENDEE is required")
    if len(attendees) > max_attendees:
        raise FreeBusyRefused(400, f"more than {max_attendees} attendees")
    uid = component.get("UID")
    return FreeBusyRequest(
        str(uid) if uid else None, str(organiser), tuple(dict.fromkeys(attendees)), start, end
    )


def _moment(component: icalendar.Component, name: str) -> datetime:
    value = component.get(name)
    if value is None:
        raise FreeBusyRefused(400, f"{name} is required")
    moment = value.dt
    if not isinstance(moment, datetime):
        moment = datetime.combine(
            moment if isinstance(moment, date) else date.min, datetime.min.time()
        )
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answer(
    availability: Availability,
    organiser: User,
    request: FreeBusyRequest,
    zone: ZoneInfo,
) -> bytes:
    """The ``schedule-response`` body: one response per attendee, in the order asked."""
    root = ET.Element(f"{{{CALDAV}}}schedule-response")
    for attendee in request.attendees:
        who = address(attendee)
        who = who.strip("/") if who.startswith("/") else who  # a principal URL names the account
        busy = availability.busy(organiser, who, request.start, request.end, zone)
        response = ET.SubElement(root, f"{{{CALDAV}}}response")
        recipient = ET.SubElement(response, f"{{{CALDAV}}}recipient")
        ET.SubElement(recipient, f"{{{DAV}}}href").text = attendee
        status = ET.SubElement(response, f"{{{CALDAV}}}request-status")
        if isinstance(busy, Unknown):
            status.text = INVALID_USER if busy.reason == NO_SUCH_USER else NO_AUTHORITY
            continue
        status.text = SUCCESS
        reply = vfreebusy(
            attendee, request.organiser, request.start, request.end, busy, uid=request.uid
        )
        ET.SubElement(response, f"{{{CALDAV}}}calendar-data").text = reply.to_ical().decode()
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
