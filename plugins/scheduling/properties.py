"""The RFC 6638 properties of principals and mailboxes, added to Radicale's PROPFIND answers.

Radicale answers 404 for properties it does not know; for the principal of the
account and its two mailboxes this module moves the scheduling properties into
the 200 propstat with their values, and gives the mailboxes their resource type
(``schedule-inbox``/``schedule-outbox`` instead of ``calendar``), so clients
find them and do not list them as calendars. In any multistatus that asks for
``schedule-tag``, the scheduling object resources get theirs (RFC 6638 §9.3).
Everything else passes unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import unquote

from davserver.accounts.directory import User
from plugins.scheduling.mailboxes import INBOX, OUTBOX, inbox_path, outbox_path
from plugins.scheduling.schedule_tags import quoted

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
_OK = "HTTP/1.1 200 OK"


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _hrefs(tag: str, *hrefs: str, preferred_first: bool = False) -> ET.Element:
    element = ET.Element(tag)
    for index, href in enumerate(hrefs):
        child = ET.SubElement(element, _tag(DAV, "href"))
        child.text = href
        if preferred_first and index == 0:
            child.set("preferred", "1")
    return element


def _text(tag: str, value: str) -> ET.Element:
    element = ET.Element(tag)
    element.text = value
    return element


def calendar_user_addresses(user: User, prefix: str = "") -> list[str]:
    """The addresses that are this user in ATTENDEE/ORGANIZER: ``mailto:`` first, then the
    principal URL (RFC 6638 §2.4.1)."""
    principal = f"{prefix}/{user.name}/"
    return [f"mailto:{user.email}", principal] if user.email else [principal]


def provided_properties(
    user: User, prefix: str, default_calendar_path: str
) -> dict[str, dict[str, ET.Element]]:
    """Path -> {Clark tag -> filled property element} for the principal and its mailboxes;
    ``default_calendar_path`` is where invitations go (mailboxes.default_calendar)."""
    default_calendar = _hrefs(
        _tag(CALDAV, "schedule-default-calendar-URL"), prefix + default_calendar_path
    )
    principal = {
        element.tag: element
        for element in (
            _hrefs(_tag(CALDAV, "schedule-inbox-URL"), prefix + inbox_path(user.name)),
            _hrefs(_tag(CALDAV, "schedule-outbox-URL"), prefix + outbox_path(user.name)),
            _hrefs(
                _tag(CALDAV, "calendar-user-address-set"),
                *calendar_user_addresses(user, prefix),
                preferred_first=True,
            ),
            _text(_tag(CALDAV, "calendar-user-type"), "INDIVIDUAL"),
            default_calendar,
        )
    }
    return {
        f"/{user.name}/": principal,
        inbox_path(user.name): {default_calendar.tag: default_calendar},
        outbox_path(user.name): {},
    }


def mailbox_resource_types(user: User) -> dict[str, str]:
    return {inbox_path(user.name): INBOX, outbox_path(user.name): OUTBOX}


def complete_multistatus(
    body: bytes,
    prefix: str,
    provided: dict[str, dict[str, ET.Element]],
    resource_types: dict[str, str],
) -> bytes:
    """Radicale's multistatus with ``provided`` properties answered and mailbox types set."""
    root = ET.fromstring(body)
    for response in root.iter(_tag(DAV, "response")):
        href = response.find(_tag(DAV, "href"))
        if href is None or not href.text:
            continue
        path = unquote(href.text).removeprefix(prefix)
        if path in provided:
            _answer(response, provided[path])
        if path in resource_types:
            _set_resource_type(response, resource_types[path])
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def with_schedule_tags(
    body: bytes, prefix: str, tags_of: Callable[[list[str]], dict[str, str]]
) -> bytes:
    """Radicale's multistatus with ``schedule-tag`` answered where ``tags_of`` (item paths ->
    tags, one lookup for the whole answer) knows the resource; the rest stay 404."""
    root = ET.fromstring(body)
    responses = {}
    for response in root.iter(_tag(DAV, "response")):
        href = response.find(_tag(DAV, "href"))
        if href is not None and href.text:
            responses[unquote(href.text).removeprefix(prefix)] = response
    name = _tag(CALDAV, "schedule-tag")
    for path, tag in tags_of(list(responses)).items():
        _answer(responses[path], {name: _text(name, quoted(tag))})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _answer(response: ET.Element, values: dict[str, ET.Element]) -> None:
    found: list[ET.Element] = []
    ok_prop = None
    for propstat in response.findall(_tag(DAV, "propstat")):
        prop = propstat.find(_tag(DAV, "prop"))
        status = propstat.findtext(_tag(DAV, "status"), "")
        if prop is None:
            continue
        if status.startswith(_OK):
            ok_prop = prop
        for element in list(prop):
            if element.tag in values:
                prop.remove(element)
                found.append(values[element.tag])
        if not len(prop) and not status.startswith(_OK):
            response.remove(propstat)
    if not found:
        return
    if ok_prop is None:
        propstat = ET.SubElement(response, _tag(DAV, "propstat"))
        ok_prop = ET.SubElement(propstat, _tag(DAV, "prop"))
        ET.SubElement(propstat, _tag(DAV, "status")).text = _OK
    ok_prop.extend(found)


def _set_resource_type(response: ET.Element, mailbox: str) -> None:
    for element in response.iter(_tag(DAV, "resourcetype")):
        element.clear()
        ET.SubElement(element, _tag(DAV, "collection"))
        ET.SubElement(element, _tag(CALDAV, mailbox))
