"""Busy periods per calendar, kept between lookups so an answer takes milliseconds, not a re-parse.

Radicale stores one file per calendar object and replaces files atomically, so
the folder can be read without its lock. A collection is re-validated with one
``stat`` of its folder (any write changes the folder's mtime); within it, only
files whose size or mtime changed are parsed again. Results are kept per month
bucket and per zone (floating and all-day times depend on the organiser's zone).
Objects that cannot touch the bucket (no recurrence, dates far outside) are
skipped without parsing. One lookup parses for at most ``REFRESH_SECONDS``: a
calendar with more changed objects than that answers with those read so far,
and the next lookup goes on with the rest, so a flood of stored objects delays
no answer.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from plugins.availability.busy import Period, busy_periods

_DATE = re.compile(rb"^(?:DTSTART|DTEND|RECURRENCE-ID)[;:][^\r\n]*?(\d{8})", re.MULTILINE)
_REPEATS = re.compile(rb"^(?:RRULE|RDATE|DURATION)[;:]", re.MULTILINE)
_MARGIN = timedelta(days=2)
_MAX_BUCKETS = 512  # calendar x month x zone entries kept; the least recently used go first
REFRESH_SECONDS = 5.0
logger = logging.getLogger("murmeli.availability")


def month_bucket(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole months covering [start, end), in UTC: nearby lookups share one bucket."""
    first = start.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = end.astimezone(UTC)
    year, month = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    return first, datetime(year, month, 1, tzinfo=UTC)


def may_touch(raw: bytes, start: datetime, end: datetime) -> bool:
    """False only when the object surely has no time inside [start, end)."""
    if _REPEATS.search(raw):
        return True
    days = [date(int(d[:4]), int(d[4:6]), int(d[6:8])) for d in _DATE.findall(raw)]
    if not days:
        return True
    low, high = (start - _MARGIN).date(), (end + _MARGIN).date()
    return not (max(days) < low or min(days) > high)


@dataclass
class _ItemResult:
    signature: tuple[int, int]
    periods: list[Period]


@dataclass
class _Bucket:
    folder_signature: int = -1
    items: dict[str, _ItemResult] = field(default_factory=dict)
    merged: list[Period] = field(default_factory=list)


class BusyIndex:
    def __init__(self) -> None:
        self._buckets: OrderedDict[tuple, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def periods(
        self,
        folder: Path,
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
        owner_addresses: frozenset[str],
    ) -> list[Period]:
        """Busy periods of the calendar in ``folder`` overlapping [start, end), sorted."""
        bucket_start, bucket_end = month_bucket(start, end)
        key = (str(folder), bucket_start, bucket_end, zone.key, owner_addresses)
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket())
            self._buckets.move_to_end(key)
            while len(self._buckets) > _MAX_BUCKETS:
                self._buckets.popitem(last=False)
        try:
            signature = folder.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        if signature != bucket.folder_signature:
            if self._refresh(bucket, folder, bucket_start, bucket_end, zone, owner_addresses):
                bucket.folder_signature = signature
            else:
                logger.warning("availability: %s read in part; the rest on the next lookup", folder)
        return [p for p in bucket.merged if p.end > start and p.start < end]

    @staticmethod
    def _refresh(
        bucket: _Bucket,
        folder: Path,
        start: datetime,
        end: datetime,
        zone: ZoneInfo,
        owner_addresses: frozenset[str],
    ) -> bool:
        """Parse what changed; False when time ran out before every object was read (at least
        one is, so lookups make progress)."""
        deadline = time.monotonic() + REFRESH_SECONDS
        complete, parsed = True, 0
        fresh: dict[str, _ItemResult] = {}
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                stat = entry.stat()
                signature = (stat.st_mtime_ns, stat.st_size)
                known = bucket.items.get(entry.name)
                if known is not None and known.signature == signature:
                    fresh[entry.name] = known
                    continue
                if parsed and time.monotonic() > deadline:
                    complete = False
                    continue
                parsed += 1
                raw = Path(entry.path).read_bytes()
                periods = (
                    busy_periods(raw, start, end, zone, owner_addresses)
                    if may_touch(raw, start, end)
                    else []
                )
                fresh[entry.name] = _ItemResult(signature, periods)
        bucket.items = fresh
        bucket.merged = sorted(p for result in fresh.values() for p in result.periods)
        return complete
