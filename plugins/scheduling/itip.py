"""iTIP (RFC 5546) over parsed iCalendar: who a scheduling object concerns and what to tell them.

Plain functions over ``icalendar`` objects, no storage and no HTTP, so every
rule can be tested alone. A scheduling object is one UID: a master component
and its RECURRENCE-ID overrides, with an ORGANIZER and ATTENDEEs (RFC 6638 §3.1).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import icalendar

SCHEDULED = ("VEVENT", "VTODO")
PRODID = "-//Murmeli//scheduling//EN"
# What makes an invitation out of date: attendees must see the change (RFC 5546 §2.1.4).
SIGNIFICANT = ("DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "RDATE", "EXDATE", "LOCATION")
VISIBLE = (*SIGNIFICANT, "SUMMARY", "DESCRIPTION", "STATUS")


def parse(text: str | bytes | None) -> icalendar.Calendar | None:
    """The calendar, or None for absent or unreadable text (Radicale then judges it)."""
    if not text:
        return None
    try:
        return icalendar.Calendar.from_ical(text)
    except ValueError:
        return None


def address(value: object) -> str:
    """A calendar user address in the form used for comparing: ``mailto:`` lower-cased."""
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        return "mailto:" + text[7:].lower()
    if text.lower().startswith(("http://", "https://")):
        return urlsplit(text).path  # a principal URL: the same account on any host name
    return text


def components(calendar: icalendar.Calendar | None) -> list[icalendar.Component]:
    if calendar is None:
        return []
    return [c for c in calendar.subcomponents if c.name in SCHEDULED]


def uid_of(calendar: icalendar.Calendar | None) -> str | None:
    found = components(calendar)
    return str(found[0]["UID"]) if found and "UID" in found[0] else None


def organizer_of(calendar: icalendar.Calendar | None) -> icalendar.vCalAddress | None:
    for component in components(calendar):
        if "ORGANIZER" in component:
            return component["ORGANIZER"]
    return None


def attendee_properties(component: icalendar.Component) -> list[icalendar.vCalAddress]:
    value = component.get("ATTENDEE", [])
    return value if isinstance(value, list) else [value]


def attendees_of(calendar: icalendar.Calendar | None) -> dict[str, icalendar.vCalAddress]:
    """Every attendee of any component, by comparable address, first mention kept."""
    found: dict[str, icalendar.vCalAddress] = {}
    for component in components(calendar):
        for attendee in attendee_properties(component):
            found.setdefault(address(attendee), attendee)
    return found


def server_schedules(prop: icalendar.vCalAddress) -> bool:
    """False when the client said it schedules this one itself (SCHEDULE-AGENT, RFC 6638 §7.1)."""
    return str(prop.params.get("SCHEDULE-AGENT", "SERVER")).upper() == "SERVER"


def recurrence_key(component: icalendar.Component) -> str:
    """Which instance a component is: "" for the master, else its RECURRENCE-ID in UTC."""
    rid = component.get("RECURRENCE-ID")
    return "" if rid is None else moment_key(rid.dt)


def moment_key(moment: date) -> str:
    """A date or date-time in a form to compare: zoned date-times in UTC."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def by_instance(calendar: icalendar.Calendar | None) -> dict[str, icalendar.Component]:
    return {recurrence_key(c): c for c in components(calendar)}


def master(calendar: icalendar.Calendar | None) -> icalendar.Component | None:
    """The master component, or else the first override (an invitation to one occurrence)."""
    by_key = by_instance(calendar)
    return by_key.get("") or next(iter(by_key.values()), None)


def sequence(component: icalendar.Component | None) -> int:
    return int(component.get("SEQUENCE", 0)) if component is not None else 0


def _values(component: icalendar.Component, names: tuple[str, ...]) -> tuple:
    return tuple((name, _ical(component[name])) for name in names if name in component)


def _ical(value: object) -> object:
    return tuple(v.to_ical() for v in value) if isinstance(value, list) else value.to_ical()


def _attendee_set(component: icalendar.Component) -> frozenset[str]:
    return frozenset(address(a) for a in attendee_properties(component))


def changed(
    old: icalendar.Component | None,
    new: icalendar.Component,
    names: tuple[str, ...] = VISIBLE,
    people: bool = True,
) -> bool:
    """Whether ``new`` differs from ``old`` in ``names`` (and, with ``people``, attendees)."""
    if old is None:
        return True
    if _values(old, names) != _values(new, names):
        return True
    return people and _attendee_set(old) != _attendee_set(new)


def bump_sequences(old: icalendar.Calendar | None, new: icalendar.Calendar) -> bool:
    """Raise SEQUENCE where a significant change kept it (clients forget); True if any changed.

    A new override counts from the master's old SEQUENCE."""
    before = by_instance(old)
    master = before.get("")
    bumped = False
    for key, component in by_instance(new).items():
        previous = before.get(key)
        if previous is None and (old is None or key == ""):
            continue
        if changed(previous, component, SIGNIFICANT, people=False):
            floor = sequence(previous if previous is not None else master)
            if sequence(component) <= floor:
                component.pop("SEQUENCE", None)
                component.add("SEQUENCE", floor + 1)
                bumped = True
    return bumped


def set_schedule_status(calendar: icalendar.Calendar, statuses: dict[str, str]) -> None:
    """SCHEDULE-STATUS on each ATTENDEE the server scheduled (RFC 6638 §7.3)."""
    for component in components(calendar):
        for attendee in attendee_properties(component):
            status = statuses.get(address(attendee))
            if status is not None:
                attendee.params["SCHEDULE-STATUS"] = status


def message(method: str, parts: list[icalendar.Component], source: icalendar.Calendar | None):
    """An iTIP message: METHOD, the parts, and a VTIMEZONE for every TZID they use: those of
    ``source``, and for an IANA zone the client sent none of, one made from the zone data
    (clients may leave them out of a PUT; a mail program needs them)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for timezone in source.walk("VTIMEZONE") if source is not None else []:
        calendar.add_component(timezone)
    for part in parts:
        calendar.add_component(part)
    calendar.add_missing_timezones()
    return calendar


def cleaned(component: icalendar.Component) -> icalendar.Component:
    """A copy fit for someone else: no alarms, no server status parameters."""
    clean = copy.deepcopy(component)
    clean.subcomponents = [c for c in clean.subcomponents if c.name != "VALARM"]
    for prop_name in ("ATTENDEE", "ORGANIZER"):
        value = clean.get(prop_name)
        for prop in value if isinstance(value, list) else [value] if value is not None else []:
            prop.params.pop("SCHEDULE-STATUS", None)
            prop.params.pop("SCHEDULE-FORCE-SEND", None)
    return clean


def request(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """The REQUEST every attendee gets: the whole object, cleaned, stamped now (RFC 5546
    §2.1.5: DTSTAMP is when the message was made; clients keep the first one)."""
    parts = [cleaned(c) for c in components(calendar)]
    now = datetime.now(UTC).replace(microsecond=0)
    for part in parts:
        part.pop("DTSTAMP", None)
        part.add("DTSTAMP", now)
    return message("REQUEST", parts, calendar)


def cancel(
    calendar: icalendar.Calendar, recipient: icalendar.vCalAddress, instance: str | None = None
) -> icalendar.Calendar:
    """CANCEL for ``recipient``: of the whole object, or of one instance (its recurrence key)."""
    by_key = by_instance(calendar)
    main = master(calendar)
    part = icalendar.Event() if main.name == "VEVENT" else icalendar.Todo()
    for name in ("UID", "SUMMARY", "LOCATION", "DTSTART", "DTEND", "ORGANIZER"):
        if name in main:
            part[name] = main[name]
    source = by_key.get(instance or "")
    if instance:
        source = source or main
        part.pop("DTSTART", None)
        part.pop("DTEND", None)
        part["RECURRENCE-ID"] = instance_id(main, instance, source)
        part["DTSTART"] = part["RECURRENCE-ID"]
    part.add("DTSTAMP", datetime.now(UTC))
    part.add("SEQUENCE", sequence(source if source is not None else main) + 1)
    part.add("STATUS", "CANCELLED")
    part.add("ATTENDEE", recipient)
    return message("CANCEL", [cleaned(part)], calendar)


def instance_id(master: icalendar.Component, key: str, source: icalendar.Component):
    """The RECURRENCE-ID property of the instance ``key``, in the master's own zone."""
    if "RECURRENCE-ID" in source:
        return source["RECURRENCE-ID"]
    moment = datetime.fromisoformat(key)
    start = master["DTSTART"].dt
    if isinstance(start, datetime) and start.tzinfo is not None:
        moment = moment.astimezone(start.tzinfo)
    prop = icalendar.vDDDTypes(moment)
    tzid = master["DTSTART"].params.get("TZID")
    if tzid:
        prop.params["TZID"] = tzid
    return prop


def cancelled_instances(old: icalendar.Calendar | None, new: icalendar.Calendar) -> list[str]:
    """Instances cancelled by this change: a new EXDATE, or an override newly CANCELLED."""
    if old is None:
        return []
    keys = []
    old_master, new_master = by_instance(old).get(""), by_instance(new).get("")
    if old_master is not None and new_master is not None:
        keys += sorted(exdates(new_master) - exdates(old_master))
    before = by_instance(old)
    for key, component in by_instance(new).items():
        previous = before.get(key)
        if key and _is_cancelled(component) and (previous is None or not _is_cancelled(previous)):
            keys.append(key)
    return keys


def _is_cancelled(component: icalendar.Component) -> bool:
    return str(component.get("STATUS", "")).upper() == "CANCELLED"


def exdates(component: icalendar.Component) -> set[str]:
    """The instances EXDATE leaves out, as recurrence keys."""
    value = component.get("EXDATE", [])
    return {
        moment_key(moment.dt)
        for exdate in (value if isinstance(value, list) else [value])
        for moment in exdate.dts
    }


def partstat(component: icalendar.Component, attendee: str) -> str | None:
    for prop in attendee_properties(component):
        if address(prop) == attendee:
            return str(prop.params.get("PARTSTAT", "NEEDS-ACTION")).upper()
    return None


def reply(
    old: icalendar.Calendar | None, new: icalendar.Calendar, attendee: str
) -> icalendar.Calendar | None:
    """The REPLY an attendee's own change makes (RFC 6638 §3.2.2): the instances whose
    PARTSTAT they changed (a new override counts against the master), or None."""
    before = by_instance(old)
    master = before.get("")
    parts = []
    for key, component in by_instance(new).items():
        answer = partstat(component, attendee)
        previous = before.get(key, master)
        if answer is None or (previous is not None and partstat(previous, attendee) == answer):
            continue
        parts.append(reply_part(component, attendee, answer))
    return message("REPLY", parts, new) if parts else None


def reply_part(component: icalendar.Component, attendee: str, answer: str) -> icalendar.Component:
    """One instance of a REPLY: the attendee's own ATTENDEE line and nothing of the others."""
    part = icalendar.Event() if component.name == "VEVENT" else icalendar.Todo()
    for name in ("UID", "RECURRENCE-ID", "SEQUENCE", "ORGANIZER", "SUMMARY", "DTSTART", "DTEND"):
        if name in component:
            part[name] = component[name]
    part.add("DTSTAMP", datetime.now(UTC))
    prop = icalendar.vCalAddress(_original(component, attendee))
    prop.params["PARTSTAT"] = answer
    part.add("ATTENDEE", prop)
    return part


def _original(component: icalendar.Component, attendee: str) -> str:
    for prop in attendee_properties(component):
        if address(prop) == attendee:
            return str(prop)
    return attendee


def declined(calendar: icalendar.Calendar, attendee: str) -> icalendar.Calendar | None:
    """The REPLY of an attendee who deleted their copy: DECLINED, unless already so or the
    event was cancelled (RFC 6638 §3.2.2.3)."""
    main = master(calendar)
    if main is None or _is_cancelled(main) or partstat(main, attendee) in (None, "DECLINED"):
        return None
    return message("REPLY", [reply_part(main, attendee, "DECLINED")], calendar)


def apply_reply(organiser_copy: icalendar.Calendar, answer: icalendar.Calendar) -> list[str]:
    """Write the PARTSTATs of a REPLY into the organiser's copy; an answer for one instance of
    a series gets its own override. Returns the attendee addresses that answered."""
    by_key = by_instance(organiser_copy)
    answered = []
    for part in components(answer):
        key = recurrence_key(part)
        target = by_key.get(key)
        if target is None and key and "" in by_key:
            target = _override(by_key[""], part)
            organiser_copy.add_component(target)
            by_key[key] = target
        if target is None:
            continue
        for attendee in attendee_properties(part):
            who = address(attendee)
            for prop in attendee_properties(target):
                if address(prop) == who:
                    prop.params["PARTSTAT"] = str(attendee.params.get("PARTSTAT", "NEEDS-ACTION"))
                    prop.params["SCHEDULE-STATUS"] = "2.0"
                    answered.append(who)
    return answered


def _override(master: icalendar.Component, part: icalendar.Component) -> icalendar.Component:
    """The instance ``part`` names, made its own component from the master."""
    override = copy.deepcopy(master)
    for name in ("RRULE", "RDATE", "EXDATE", "DTSTART", "DTEND", "RECURRENCE-ID"):
        override.pop(name, None)
    start = part["RECURRENCE-ID"]
    override["RECURRENCE-ID"] = start
    override["DTSTART"] = start
    if "DTEND" in master:
        length = master["DTEND"].dt - master["DTSTART"].dt
        end = icalendar.vDDDTypes(start.dt + length)
        if "TZID" in start.params:
            end.params["TZID"] = start.params["TZID"]
        override["DTEND"] = end
    return override


def answer_for(calendar: icalendar.Calendar, attendee: str, answer: str) -> icalendar.Calendar:
    """The REPLY an answer link stands for: the whole object (its master) answered."""
    return message("REPLY", [reply_part(master(calendar), attendee, answer)], calendar)
