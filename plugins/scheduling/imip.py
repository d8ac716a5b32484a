"""iMIP (RFC 6047): the emails that carry invitations, cancellations and answers.

Each is ``multipart/alternative``: a plain-text and an HTML part a person reads
(title, time in the event's own zone or else the configured one, place,
organiser and, in an invitation, the accept/decline/tentative links) and the
``text/calendar; method=…`` part their mail program acts on. Messages come From
Murmeli's own address with the organiser's name, and Reply-To the person, so
the SMTP server's sender rules hold.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from zoneinfo import ZoneInfo

import icalendar

from plugins.scheduling import itip
from plugins.scheduling.queue import OutgoingMail

_HEADLINES = {
    "REQUEST": "Invitation",
    "CANCEL": "Cancelled",
    "REPLY": "Answer",
}
_ANSWER_WORDS = {
    "ACCEPTED": "accepted",
    "DECLINED": "declined",
    "TENTATIVE": "tentatively accepted",
}


def when(component: icalendar.Component, zone: ZoneInfo) -> str:
    """``Monday 01 March 2027, 10:00-11:00 (Europe/Berlin)``, or the date for all-day events."""
    start = component["DTSTART"].dt
    end = component["DTEND"].dt if "DTEND" in component else None
    if end is None and "DURATION" in component:
        end = start + component["DURATION"].dt
    if not isinstance(start, datetime):
        return f"{start:%A %d %B %Y} (all day)"
    shown = start.tzinfo if _named_zone(start) else zone
    start = start.replace(tzinfo=start.tzinfo or zone).astimezone(shown)
    text = f"{start:%A %d %B %Y, %H:%M}"
    if isinstance(end, datetime):
        end = end.replace(tzinfo=end.tzinfo or zone).astimezone(shown)
        text += f"-{end:%H:%M}" if end.date() == start.date() else f" - {end:%A %d %B %Y, %H:%M}"
    return f"{text} ({shown})"


def _named_zone(moment: datetime) -> bool:
    return moment.tzinfo is not None and str(moment.tzinfo) not in ("UTC", "None")


def _person(prop: object) -> str:
    name = getattr(prop, "params", {}).get("CN")
    mail = str(prop).removeprefix("mailto:").removeprefix("MAILTO:")
    return f"{name} <{mail}>" if name else mail


def _facts(component: icalendar.Component, zone: ZoneInfo) -> list[tuple[str, str]]:
    facts = [("When", when(component, zone))]
    if "RRULE" in component:
        facts.append(("Repeats", component["RRULE"].to_ical().decode()))
    if "RECURRENCE-ID" in component:
        facts.append(("Occurrence", when({"DTSTART": component["RECURRENCE-ID"]}, zone)))
    if component.get("LOCATION"):
        facts.append(("Where", str(component["LOCATION"])))
    if "ORGANIZER" in component:
        facts.append(("Organiser", _person(component["ORGANIZER"])))
    return facts


def _text(title: str, facts: list[tuple[str, str]], links: dict[str, str], note: str) -> str:
    lines = [title, ""] + [f"{label}: {value}" for label, value in facts]
    if note:
        lines += ["", note]
    if links:
        lines += [""] + [f"{label}: {url}" for label, url in links.items()]
    return "\n".join(lines) + "\n"


def _html(title: str, facts: list[tuple[str, str]], links: dict[str, str], note: str) -> str:
    rows = "".join(
        f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in facts
    )
    buttons = " ".join(
        f"<a href='{escape(url)}'>{escape(label)}</a>" for label, url in links.items()
    )
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h2>{escape(title)}</h2><table>{rows}</table>"
        + (f"<p>{escape(note)}</p>" if note else "")
        + (f"<p>{buttons}</p>" if buttons else "")
        + "</body></html>\n"
    )


def compose_itip(
    mail: OutgoingMail,
    calendar: icalendar.Calendar,
    sender: Address,
    reply_to: str | None,
    zone: ZoneInfo,
    links: dict[str, str],
) -> EmailMessage:
    """The iMIP message for one queued iTIP message (REQUEST, CANCEL or REPLY), parsed."""
    master = itip.master(calendar)
    summary = str(master.get("SUMMARY", "")) or "(untitled event)"
    headline = _HEADLINES[mail.kind]
    note = ""
    if mail.kind == "REQUEST" and itip.sequence(master) > 0:
        headline = "Updated invitation"
    if mail.kind == "REPLY":
        attendee = itip.attendee_properties(master)[0]
        answer = _ANSWER_WORDS.get(str(attendee.params.get("PARTSTAT")), "answered")
        headline = f"{_person(attendee)} {answer}"
    if mail.kind == "CANCEL":
        note = (
            "This event was cancelled."
            if "RECURRENCE-ID" not in master
            else ("This occurrence was cancelled.")
        )
    title = f"{headline}: {summary}"
    facts = _facts(master, zone)
    labelled = (
        {"Accept": links["accept"], "Tentative": links["tentative"], "Decline": links["decline"]}
        if links
        else {}
    )
    message = _envelope(mail.recipient, f"{title} — {facts[0][1]}", sender, reply_to)
    message.set_content(_text(title, facts, labelled, note))
    message.add_alternative(_html(title, facts, labelled, note), subtype="html")
    message.add_alternative(
        calendar.to_ical().decode(), subtype="calendar", params={"method": mail.kind}
    )
    return message


def compose_notice(mail: OutgoingMail, sender: Address) -> EmailMessage:
    """The short note telling a local organiser of an answer."""
    note = json.loads(mail.payload)
    message = _envelope(mail.recipient, note["subject"], sender, None)
    message.set_content(note["text"])
    return message


def _envelope(to: str, subject: str, sender: Address, reply_to: str | None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.domain or None)
    message["Auto-Submitted"] = "auto-generated"
    return message


def notice(who: str, answer: str, calendar: icalendar.Calendar, zone: ZoneInfo) -> str:
    """The JSON payload of a NOTICE: ``Bob <bob@…> accepted: Title``."""
    master = itip.master(calendar)
    summary = str(master.get("SUMMARY", "")) or "(untitled event)"
    subject = f"{who} {_ANSWER_WORDS.get(answer, 'answered')}: {summary}"
    lines = [subject, ""] + [f"{label}: {value}" for label, value in _facts(master, zone)]
    return json.dumps({"subject": subject, "text": "\n".join(lines) + "\n"})
