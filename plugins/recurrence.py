"""Recurrence expansion within bounds: the one way Murmeli turns RRULEs into occurrences.

Anyone who may write to a calendar can store a rule that no query can afford:
``RRULE:FREQ=SECONDLY`` without end has 2.6 million occurrences in a month, and
dateutil (under ``recurring-ical-events`` and Radicale) walks every period from
DTSTART, so even a rule with few occurrences in the window costs hours when it
started long ago. Such work cannot be interrupted once started, so it is
estimated before it starts, from the rule alone: the periods between DTSTART
and the end of the query (fewer with a COUNT, an UNTIL), times the instants a
period may hold (its BYxxx lists). The estimate errs on the high side.

A series whose expansion would take more than ``MAX_STEPS`` steps, or put more
than ``MAX_OCCURRENCES`` occurrences into the window, is expanded without its
RRULE: its first instance, its RDATEs and its overrides still count, the rest
is left out, and the server logs the series' UID once. Availability,
free-busy, reminders and everything else that expands goes through
``occurrences``; ``too_many_instances`` tells the upload check (recurrence_guard.py)
which finite series Radicale itself would walk for too long.
"""

from __future__ import annotations

import copy
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import recurring_ical_events
from icalendar import Calendar, Component

logger = logging.getLogger("murmeli.recurrence")

MAX_STEPS = 50_000  # dateutil periods x instants per period, about a second of work
MAX_OCCURRENCES = 10_000  # per series and query
_PERIOD = {
    "SECONDLY": timedelta(seconds=1),
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
    "MONTHLY": timedelta(days=28),  # the shortest month: the most periods
    "YEARLY": timedelta(days=365),
}
_DAYS_IN_PERIOD = {"WEEKLY": 7, "MONTHLY": 31, "YEARLY": 366}
_DAY_PARTS = ("BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO")
_TIME_PARTS = {
    "SECONDLY": (),
    "MINUTELY": ("BYSECOND",),
    "HOURLY": ("BYMINUTE", "BYSECOND"),
}
_DAY_TIME_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
_RECURRING = ("VEVENT", "VTODO", "VJOURNAL")
_FAR_FUTURE = datetime(9999, 12, 31)
_WARNED_MAX = 1_000
_warned: set[str] = set()


def occurrences(
    calendar: Calendar,
    start: datetime,
    end: datetime,
    calendar_query: type[recurring_ical_events.CalendarQuery] | None = None,
    **options: Any,
) -> list[Component]:
    """The occurrences of ``calendar``'s components in [start, end], each series within the
    bounds. ``calendar_query`` and ``options`` go to ``recurring_ical_events.of``."""
    if calendar_query is not None:
        options["calendar_query"] = calendar_query
    return recurring_ical_events.of(bounded(calendar, start, end), **options).between(start, end)


def bounded(calendar: Calendar, start: datetime, end: datetime) -> Calendar:
    """``calendar`` itself, or a copy whose series over the bounds lost their RRULE."""
    costly = [
        component
        for component in calendar.subcomponents
        if component.name in _RECURRING and _over_bounds(component, start, end)
    ]
    if not costly:
        return calendar
    for component in costly:
        _warn(component, end)
    clone = copy.copy(calendar)
    clone.subcomponents = [
        _without_rules(component) if component in costly else component
        for component in calendar.subcomponents
    ]
    return clone


def too_many_instances(calendar: Calendar) -> str | None:
    """Why ``calendar`` cannot be stored, or None: a series that ends (COUNT, UNTIL) but only
    after more than ``MAX_STEPS`` instances, which Radicale walks in full to index the item.
    Series without end are indexed at once and bounded where they are expanded."""
    for component in calendar.walk():
        if component.name not in _RECURRING:
            continue
        for rule in _rules(component):
            limits = [_count(rule)] if "COUNT" in rule else []
            if "UNTIL" in rule:
                limits.append(_steps(rule, _begin(component), _FAR_FUTURE))
            known = [limit for limit in limits if limit is not None]
            if known and min(known) > MAX_STEPS:
                return (
                    f"the RRULE of {component.get('UID', 'a component')} makes more than "
                    f"{MAX_STEPS} instances (CALDAV:max-instances)"
                )
    return None


def _over_bounds(component: Component, start: datetime, end: datetime) -> bool:
    begin = _begin(component)
    for rule in _rules(component):
        steps = _steps(rule, begin, _naive_utc(end))
        if steps is None:
            continue
        in_window = _steps(rule, max(begin, _naive_utc(start)), _naive_utc(end))
        if steps > MAX_STEPS or (in_window or 0) > MAX_OCCURRENCES:
            return True
    return False


def _steps(rule: dict, begin: datetime | None, until: datetime) -> int | None:
    """An upper bound of the work to expand ``rule`` from ``begin`` up to ``until`` (periods
    times instants per period), or None when the rule cannot be read (the library skips it)."""
    try:
        frequency = str(rule["FREQ"][0]).upper()
        interval = max(1, int(rule.get("INTERVAL", [1])[0]))
        if "UNTIL" in rule:
            until = min(until, _naive_utc(rule["UNTIL"][0]))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if frequency not in _PERIOD or begin is None:
        return None
    periods = max(0, (until - begin) // (_PERIOD[frequency] * interval)) + 1
    count = _count(rule)
    if count is not None and not any(part.startswith("BY") for part in rule):
        # Every period then holds an occurrence: the walk ends after COUNT periods.
        periods = min(periods, count)
    return periods * _instants_per_period(rule, frequency)


def _count(rule: dict) -> int | None:
    try:
        return max(1, int(rule["COUNT"][0]))
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _instants_per_period(rule: dict, frequency: str) -> int:
    """The most instants one period may hold: its days (when BYxxx picks days) times its
    times of day (BYHOUR x BYMINUTE x BYSECOND below the period's own unit)."""
    parts = _TIME_PARTS.get(frequency, _DAY_TIME_PARTS)
    times = 1
    for part in parts:
        times *= len(rule.get(part, ())) or 1
    days = 1
    if frequency in _DAYS_IN_PERIOD and any(part in rule for part in _DAY_PARTS):
        days = _DAYS_IN_PERIOD[frequency]
    elif frequency == "YEARLY" and "BYMONTH" in rule:
        days = len(rule["BYMONTH"])
    return days * times


def _rules(component: Component) -> list[dict]:
    """The component's RRULEs that parsed (a broken one is the library's to skip)."""
    rules = component.get("RRULE", [])
    rules = rules if isinstance(rules, list) else [rules]
    return [rule for rule in rules if isinstance(rule, dict)]


def _begin(component: Component) -> datetime | None:
    for name in ("DTSTART", "DUE"):
        moment = getattr(component.get(name), "dt", None)
        if isinstance(moment, date):
            return _naive_utc(moment)
    return None


def _naive_utc(value: date | datetime) -> datetime:
    """Comparable instants; a day's error (floating times, zones) changes no estimate much."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _without_rules(component: Component) -> Component:
    clone = copy.copy(component)
    clone.pop("RRULE", None)
    return clone


def _warn(component: Component, end: datetime) -> None:
    uid = str(component.get("UID", ""))
    if uid in _warned:
        return
    if len(_warned) >= _WARNED_MAX:
        _warned.clear()
    _warned.add(uid)
    logger.warning(
        "recurrence: the series %r repeats too often to expand up to %s (more than %d steps "
        "or %d occurrences); only its first instance, RDATEs and overrides count",
        uid,
        end.date().isoformat(),
        MAX_STEPS,
        MAX_OCCURRENCES,
    )
