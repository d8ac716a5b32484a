"""What a server answered, reduced to what must be equal between contenders.

Servers spell the same answer differently (absolute or relative hrefs, percent-encoding,
their own ETag algorithms, expanded recurrences in UTC or not, busy periods merged or
not), so the benchmarks compare these reductions rather than bytes: item names (the
last href segment), UIDs and VEVENT counts, and busy time as merged UTC intervals.
ETags are only comparable within one server (e.g. a multiget's against its PROPFIND's).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from defusedxml import ElementTree
from icalendar import Calendar

DAV = "{DAV:}"
CALDAV = "{urn:ietf:params:xml:ns:caldav}"


@dataclass(frozen=True)
class Entry:
    """One ``<response>`` of a multistatus about an item of the collection."""

    etag: str = ""
    calendar_data: str = ""


def multistatus(body: bytes, collection: str) -> dict[str, Entry]:
    """Item name -> what the answer says of it; the collection's own response left out,
    and so are items answered 404 (gone, in a sync-collection)."""
    entries = {}
    for response in ElementTree.fromstring(body).iter(f"{DAV}response"):
        path = unquote(urlsplit(response.findtext(f"{DAV}href", "")).path)
        if path.rstrip("/") == collection.rstrip("/") or " 404 " in response.findtext(
            f"{DAV}status", ""
        ):
            continue
        found = {}
        for propstat in response.iter(f"{DAV}propstat"):
            if " 200 " in propstat.findtext(f"{DAV}status", ""):
                for prop in propstat.iter():
                    found.setdefault(prop.tag, prop.text or "")
        name = path.rstrip("/").rsplit("/", 1)[-1]
        entries[name] = Entry(
            found.get(f"{DAV}getetag", ""), found.get(f"{CALDAV}calendar-data", "")
        )
    return entries


def vevent_uids(calendars: Iterable[str | bytes]) -> Counter[str]:
    """How many VEVENTs each UID has over ``calendars`` (one per occurrence when expanded)."""
    uids: Counter[str] = Counter()
    for text in calendars:
        for component in Calendar.from_ical(text).walk("VEVENT"):
            uids[str(component["UID"])] += 1
    return uids


def event_starts(calendar: str | bytes) -> dict[str, dt.datetime]:
    """UID -> DTSTART of each VEVENT of an iCalendar object (e.g. a whole calendar's GET)."""
    return {
        str(event["UID"]): event.decoded("DTSTART")
        for event in Calendar.from_ical(calendar).walk("VEVENT")
    }


Interval = tuple[dt.datetime, dt.datetime]


def merged(periods: Iterable[Interval], window: Interval) -> tuple[Interval, ...]:
    """Busy time as sorted, disjoint UTC intervals clipped to ``window``: the same time
    whether a server merges overlapping events or lists each."""
    clipped = sorted(
        (max(start, window[0]), min(end, window[1]))
        for start, end in ((s.astimezone(dt.UTC), e.astimezone(dt.UTC)) for s, e in periods)
        if end > window[0] and start < window[1]
    )
    result: list[Interval] = []
    for start, end in clipped:
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return tuple(result)


def freebusy_periods(calendar: str | bytes) -> list[Interval]:
    """The busy periods (any FBTYPE but FREE) of every VFREEBUSY in an iCalendar answer."""
    periods = []
    for component in Calendar.from_ical(calendar).walk("VFREEBUSY"):
        values = component.get("FREEBUSY", [])
        for value in values if isinstance(values, list) else [values]:
            if value.params.get("FBTYPE", "BUSY").upper() != "FREE":
                start, end = value.dt
                periods.append((start, start + end if isinstance(end, dt.timedelta) else end))
    return periods
