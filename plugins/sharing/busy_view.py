"""What a read-only share shows of private events: when they are, nothing else.

Hosted suites show a calendar's ``CLASS:PRIVATE`` and ``CLASS:CONFIDENTIAL``
events (any class but PUBLIC, RFC 5545 §3.8.1.3) to those it is shared with as
busy time only; so does a read-only share here. Such an event keeps its UID
(clients sync by it), its times, its recurrence (RRULE, RDATE, EXDATE,
RECURRENCE-ID), TRANSP and STATUS; its SUMMARY becomes "Busy" and everything
else (description, place, attendees, alarms, X- properties) is left out. The
master's CLASS governs its moved occurrences. Pure functions over text, shared
with the public feeds (plugins/publish/feed.py), so both reduce alike.
"""

from __future__ import annotations

import hashlib

from plugins.content_lines import CRLF, fold
from plugins.publish.feed import busy_only, is_private, private_masters, split_item

_SCHEDULED = frozenset({"VEVENT", "VTODO", "VJOURNAL"})


def busy_view(text: str) -> str:
    """The item as a read-only share shows it: unchanged when nothing in it is private."""
    lines, found = split_item(text)
    private = private_masters(found)
    reduced = [
        busy_only(c, uid_key=None)
        if c.name in _SCHEDULED
        and ((c.name, c.first_value("UID")) in private or is_private(c))
        else c
        for c in found
    ]
    if all(a is b for a, b in zip(reduced, found, strict=True)):
        return text
    lines[-1:-1] = [line for component in reduced for line in component.lines]
    return CRLF.join(fold(line) for line in lines) + CRLF


def view_etag(etag: str) -> str:
    """The ETag of an item seen through a read-only share: derived from Radicale's for every
    item, so PROPFIND, REPORT and GET agree without reading items to find the private ones."""
    digest = hashlib.sha256(b"busy-view\n" + etag.strip().encode()).hexdigest()[:32]
    return f'"{digest}"'
