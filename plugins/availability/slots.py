"""The slot finder: the starts nearest to the desired one at which nobody is busy.

Plain data in, plain data out; one sort and one sweep, so thousands of busy
periods cost milliseconds. Rules:

- Every busy period blocks, whatever its kind: a tentative meeting is still a
  meeting, and "everyone is free" is the promise of the answer. Callers who want
  to book over tentative time pass only the periods they consider blocking.
- A start qualifies when [start, start + duration) lies inside the window, is
  free of every period and, with working hours, inside one working-hours span.
- Candidate starts: the grid of ``step`` anchored at the desired start (both
  ways), the end of each busy period (or the start of working hours), and the
  start that ends the meeting exactly when the next busy period (or working
  hours) begins. The window's own edges are not candidates: they are arbitrary
  instants, the grid covers them.
- Best first by distance from the desired start, earlier or later; on a tie the
  later start wins (desired 11:45 for one hour, busy 12:00-12:30: 11:00 and
  12:30 are both 45 minutes away, 12:30 is proposed — an invitation for later
  still reaches people in time).
- Alternatives are the next distinct starts in that order; they may overlap
  each other (12:30, 11:00, 12:45 …): each is a complete answer on its own.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plugins.availability.busy import Period

Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class WorkingHours:
    """Working days and hours in one zone; ``end`` at or before ``start`` ends the next day."""

    days: frozenset[int]  # 0=Monday … 6=Sunday
    start: time
    end: time
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError("working hours days: expected a non-empty set of 0 (Monday) … 6")

    def spans(self, start: datetime, end: datetime) -> Iterator[Span]:
        """The working spans that overlap [start, end), in UTC, in order."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        overnight = timedelta(days=1) if self.end <= self.start else timedelta()
        while day <= last:
            if day.weekday() in self.days:
                begin = datetime.combine(day, self.start, self.zone).astimezone(UTC)
                finish = datetime.combine(day + overnight, self.end, self.zone).astimezone(UTC)
                if finish > start and begin < end:
                    yield begin, finish
            day += timedelta(days=1)


def find_slots(
    busy: Sequence[Period],
    desired: datetime,
    duration: timedelta,
    window_start: datetime,
    window_end: datetime,
    working_hours: WorkingHours | None = None,
    count: int = 4,
    step: timedelta = timedelta(minutes=15),
) -> list[datetime]:
    """Up to ``count`` free starts, best first, in the zone of ``desired``."""
    _check(desired, duration, window_start, window_end, count, step)
    wanted = desired.astimezone(UTC)
    window = (window_start.astimezone(UTC), window_end.astimezone(UTC))
    allowed = [window] if working_hours is None else _within(working_hours, *window)
    candidates: set[datetime] = set()
    for free_start, free_end in _free(_blocked(busy), allowed):
        candidates.update(_starts(free_start, free_end, duration, wanted, step, count, window))
    best = heapq.nsmallest(count, candidates, key=lambda s: (abs(s - wanted), s < wanted))
    return [start.astimezone(desired.tzinfo) for start in best]


def _check(
    desired: datetime,
    duration: timedelta,
    window_start: datetime,
    window_end: datetime,
    count: int,
    step: timedelta,
) -> None:
    """Refuse what would silently give nonsense: naive times, empty durations or steps."""
    moments = {"desired": desired, "window_start": window_start, "window_end": window_end}
    for name, moment in moments.items():
        if moment.utcoffset() is None:
            raise ValueError(f"{name}: a time with a zone or offset is required")
    if duration <= timedelta():
        raise ValueError("duration: must be positive")
    if step <= timedelta():
        raise ValueError("step: must be positive")
    if count < 0:
        raise ValueError("count: must not be negative")


def _within(hours: WorkingHours, start: datetime, end: datetime) -> list[Span]:
    return [(max(begin, start), min(finish, end)) for begin, finish in hours.spans(start, end)]


def _blocked(busy: Sequence[Period]) -> list[Span]:
    """Busy time of any kind as sorted, disjoint spans (overlapping and touching ones joined)."""
    spans: list[Span] = []
    for period in sorted(busy, key=lambda period: period.start):
        if spans and period.start <= spans[-1][1]:
            if period.end > spans[-1][1]:
                spans[-1] = (spans[-1][0], period.end)
        else:
            spans.append((period.start, period.end))
    return spans


def _free(blocked: list[Span], allowed: list[Span]) -> Iterator[Span]:
    """The parts of each allowed span that no blocked span covers."""
    ends = [end for _, end in blocked]
    for begin, finish in allowed:
        cursor = begin
        index = bisect.bisect_right(ends, begin)
        while index < len(blocked) and blocked[index][0] < finish:
            if blocked[index][0] > cursor:
                yield cursor, blocked[index][0]
            cursor = max(cursor, blocked[index][1])
            index += 1
        if cursor < finish:
            yield cursor, finish


def _starts(
    free_start: datetime,
    free_end: datetime,
    duration: timedelta,
    wanted: datetime,
    step: timedelta,
    count: int,
    window: Span,
) -> list[datetime]:
    """The few candidate starts of one free span that can be among the ``count`` best."""
    latest = free_end - duration
    if latest < free_start:
        return []
    starts = [free_start] if free_start != window[0] else []
    if free_end != window[1]:
        starts.append(latest)
    low = -((wanted - free_start) // step)  # ceil: first grid point not before free_start
    high = (latest - wanted) // step
    if low <= high:
        nearest = min(max(0, low), high)
        first, last = max(low, nearest - count), min(high, nearest + count)
        starts.extend(wanted + k * step for k in range(first, last + 1))
    return starts
