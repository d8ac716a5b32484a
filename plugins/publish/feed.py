"""The served VCALENDAR of a published calendar, built from its items' iCalendar text.

Pure functions over text, so they are fast (no full iCalendar parse of
thousands of items) and testable without a server. The feed promises:

* the calendar's name (``NAME``, RFC 7986, and ``X-WR-CALNAME`` for older apps),
  a refresh hint (``REFRESH-INTERVAL``, ``X-PUBLISHED-TTL``) and exactly the
  VTIMEZONEs its components refer to, once each;
* in busy-only mode, events reduced to their times: only the properties on
  ``BUSY_PROPERTIES`` survive (an allow-list, so unknown and ``X-`` properties
  cannot leak), ``SUMMARY`` becomes "Busy", alarms go, and to-dos and journals
  are left out;
* events whose ``CLASS`` is anything but PUBLIC are reduced the same way even in
  full mode (RFC 5545 3.8.1.3: unknown classes are treated as PRIVATE), and so
  are the moved occurrences (RECURRENCE-ID) of such a series, whatever their own
  CLASS: the series' master governs its overrides;
* reduced events carry no original UID (it often names the meeting or the
  client that made it): a keyed digest of it replaces it, the same for a
  series and its overrides and from one poll to the next, and new when the
  link (the key) is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from plugins.content_lines import CRLF, escape_text, fold, split_line, split_parameters, unfold

PRODID = "-//Murmeli//Public calendar//EN"
REFRESH = "PT1H"
BUSY_SUMMARY = "Busy"
# What a busy time needs: when, how it repeats, and what replaces what.
BUSY_PROPERTIES = frozenset(
    {
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "EXRULE",
        "RECURRENCE-ID",
        "SEQUENCE",
        "STATUS",
        "TRANSP",
        "CREATED",
        "LAST-MODIFIED",
    }
)
_TZID = re.compile(r';TZID=(?:"([^"]*)"|([^;:]*))', re.IGNORECASE)


@dataclass
class Component:
    """One top-level component of an item: its name and its unfolded content lines."""

    name: str
    lines: list[str] = field(default_factory=list)

    def first_value(self, property_name: str) -> str | None:
        for line in self.lines:
            name, value = split_line(line)
            if name == property_name:
                return value
        return None


def components(text: str) -> list[Component]:
    """The components directly inside the item's VCALENDAR, nested ones kept in their lines."""
    return split_item(text)[1]


def split_item(text: str) -> tuple[list[str], list[Component]]:
    """The VCALENDAR's own lines (its BEGIN, properties and END) and its components."""
    own: list[str] = []
    found: list[Component] = []
    depth = 0
    for line in unfold(text):
        name, value = split_line(line)
        if name == "BEGIN":
            depth += 1
            if depth == 2:
                found.append(Component(value.upper()))
        if depth >= 2:
            found[-1].lines.append(line)
        elif depth == 1:
            own.append(line)
        if name == "END":
            depth -= 1
    return own, found


def is_private(component: Component) -> bool:
    klass = component.first_value("CLASS")
    return klass is not None and klass.strip().upper() != "PUBLIC"


def busy_only(component: Component, uid_key: bytes | None = b"") -> Component:
    """The event reduced to its times, its UID replaced by a digest keyed with ``uid_key``
    (kept as it is with None: a share's clients sync by it); nested components dropped."""
    kept = [f"BEGIN:{component.name}"]
    depth = 0
    for line in component.lines[1:-1]:
        name, value = split_line(line)
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
        elif depth == 0 and name == "UID":
            uid = value if uid_key is None else busy_uid(value, uid_key)
            kept += [f"UID:{uid}", f"SUMMARY:{BUSY_SUMMARY}"]
        elif depth == 0 and name in BUSY_PROPERTIES:
            kept.append(line)
    kept.append(f"END:{component.name}")
    return Component(component.name, kept)


def busy_uid(uid: str, key: bytes) -> str:
    """A stable stand-in for ``uid`` that only the key's holder can link back to it."""
    return hmac.new(key, uid.encode(), hashlib.sha256).hexdigest()[:32] + "@busy"


def published_component(
    component: Component, only_busy: bool, uid_key: bytes = b"", private_series: bool = False
) -> Component | None:
    """What a subscriber may see of one component, or None when it is left out.
    ``private_series``: the master of the series the component belongs to is not PUBLIC."""
    reduce = only_busy or private_series or is_private(component)
    if not reduce:
        return component
    if component.name != "VEVENT":
        return None
    return busy_only(component, uid_key)


def private_masters(found: list[Component]) -> set[tuple[str, str | None]]:
    """(component name, UID) of the series masters (no RECURRENCE-ID) that are not PUBLIC."""
    return {
        (component.name, component.first_value("UID"))
        for component in found
        if component.first_value("RECURRENCE-ID") is None and is_private(component)
    }


def timezone_ids(component: Component) -> set[str]:
    found = set()
    for line in component.lines:
        parameters = split_parameters(line)[1]
        if parameters:
            for match in _TZID.finditer(parameters):
                found.add(match[1] if match[1] is not None else match[2])
    return found


def render(
    items: Iterable[str],
    name: str,
    only_busy: bool,
    description: str | None = None,
    uid_key: bytes = b"",
) -> str:
    """The whole feed: header, the VTIMEZONEs in use, then each published component.
    ``uid_key`` is the link's secret, which keys the UIDs of reduced events."""
    timezones: dict[str, Component] = {}
    published: list[Component] = []
    for text in items:
        found = components(text)
        private = private_masters(found)
        for component in found:
            if component.name == "VTIMEZONE":
                tzid = component.first_value("TZID")
                if tzid is not None:
                    timezones.setdefault(tzid, component)
                continue
            series = (component.name, component.first_value("UID"))
            shown = published_component(component, only_busy, uid_key, series in private)
            if shown is not None:
                published.append(shown)
    used: set[str] = set()
    for component in published:
        used |= timezone_ids(component)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    if description and not only_busy:
        lines += [f"DESCRIPTION:{escape_text(description)}"]
        lines += [f"X-WR-CALDESC:{escape_text(description)}"]
    lines += [f"REFRESH-INTERVAL;VALUE=DURATION:{REFRESH}", f"X-PUBLISHED-TTL:{REFRESH}"]
    for tzid in sorted(used & timezones.keys()):
        lines += timezones[tzid].lines
    for component in published:
        lines += component.lines
    lines.append("END:VCALENDAR")
    return CRLF.join(fold(line) for line in lines) + CRLF
