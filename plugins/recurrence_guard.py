"""Refuses uploads whose recurrence Radicale would walk for hours (RFC 4791 max-instances).

Radicale indexes each item by its first and last instant when it is stored, and
for a series that ends (COUNT, UNTIL) it walks every instance to find the last,
holding the storage write lock: ``FREQ=MINUTELY;COUNT=1000000000`` would stop every
user's writes. Such a PUT is answered 403 with the reason before Radicale sees
it; series without end are indexed at once and are bounded where they are
expanded (plugins/recurrence.py). Bodies that do not parse go on to Radicale,
which answers them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable

from icalendar import Calendar

from davserver.application import plain_text
from plugins.recurrence import too_many_instances

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
_RRULE = re.compile(rb"^RRULE[;:]", re.IGNORECASE | re.MULTILINE)


class RecurrenceGuard:
    def __init__(self, dav: WsgiApp) -> None:
        self._dav = dav

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "PUT":
            return self._dav(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        reason = _refusal(body) if _RRULE.search(body) else None
        if reason is not None:
            return plain_text(start_response, "403 Forbidden", reason)
        return self._dav(environ, start_response)


def _refusal(body: bytes) -> str | None:
    try:
        calendar = Calendar.from_ical(body)
    except ValueError:
        return None
    return too_many_instances(calendar)
