"""Attendees' answers reaching the organiser (RFC 6638 §3.2.2, RFC 5546 REPLY).

An answer comes from a local attendee's own client (a PUT changing their
PARTSTAT in their copy, or a DELETE of it, which declines), or from an answer
link in an invitation email. A local organiser's copy gets the new PARTSTAT
(an answer for one occurrence gets its own override), the REPLY lands in their
schedule inbox, a short note goes to their email, and the other local
attendees' copies show the answer too (as hosted CalDAV servers refresh them,
in place and without an inbox item or mail). An organiser elsewhere
gets the REPLY by iMIP. The organiser's copy is written only if nobody changed
it meanwhile; otherwise the answer is logged and left out rather than
overwriting their change.
"""

from __future__ import annotations

import logging

import icalendar

from davserver.accounts.directory import User
from davserver.collections import CollectionChanged
from plugins.scheduling import imip, itip
from plugins.scheduling.attendee_copy import attendee_copy
from plugins.scheduling.copies import ATTENDEE, Copies
from plugins.scheduling.delivery import Deliveries, LocalDelivery
from plugins.scheduling.implicit import Plan, own_addresses
from plugins.scheduling.properties import calendar_user_addresses
from plugins.scheduling.queue import OutgoingMail

logger = logging.getLogger("murmeli.scheduling")


class Replies:
    def __init__(self, deliveries: Deliveries, copies: Copies, zone) -> None:
        self._deliveries = deliveries
        self._copies = copies
        self._zone = zone

    def attendee_put(
        self,
        attendee: User,
        item_path: str,
        old: icalendar.Calendar | None,
        new: icalendar.Calendar,
    ) -> Plan:
        plan = Plan()
        uid = itip.uid_of(new)
        me = own_address(attendee, new)
        if uid is None or me is None:
            return plan
        plan.item_path = item_path
        plan.after.append(lambda: self._copies.record(uid, attendee.name, item_path, ATTENDEE))
        answer = itip.reply(old, new, me)
        if answer is not None and _server_schedules_organiser(new):
            plan.after.append(lambda: self.send(attendee.name, answer))
        return plan

    def attendee_delete(self, attendee: User, old: icalendar.Calendar) -> Plan:
        plan = Plan()
        uid = itip.uid_of(old)
        me = own_address(attendee, old)
        if uid is None or me is None:
            return plan
        plan.after.append(lambda: self._copies.forget(uid, attendee.name))
        answer = itip.declined(old, me)
        if answer is not None and _server_schedules_organiser(old):
            plan.after.append(lambda: self.send(attendee.name, answer))
        return plan

    def send(self, sender: str, answer: icalendar.Calendar) -> None:
        """Hand the REPLY ``answer`` to its organiser, local or not."""
        organiser = self._deliveries.recipient(itip.organizer_of(answer))
        if organiser.user is None:
            if organiser.email:
                self._deliveries.queue(
                    [OutgoingMail("REPLY", organiser.email, sender, answer.to_ical().decode())]
                )
            return
        self.apply(organiser.user, answer)

    def apply(self, organiser: User, answer: icalendar.Calendar) -> bool:
        """Record ``answer`` in a local organiser's copy, inbox and mail; False if the
        organiser has no copy of the event any more."""
        uid = itip.uid_of(answer)
        path = self._copies.find(uid, organiser.name) if uid else None
        text = self._deliveries.read(path) if path else None
        current = itip.parse(text)
        if current is None:
            logger.info("scheduling: answer for %s, whose organiser copy is gone", uid)
            return False
        answered = itip.apply_reply(current, answer)
        try:
            self._deliveries.write(path, current.to_ical().decode(), expect=text)
        except CollectionChanged:
            logger.warning("scheduling: %s changed meanwhile; answer to %s not recorded", path, uid)
            return False
        inbox = LocalDelivery(organiser, [answer.to_ical().decode()], None, uid)
        self._deliveries.deliver([inbox, *self._refreshes(organiser, current, uid, answered)])
        if organiser.email and answered:
            part = itip.components(answer)[0]
            who = str(itip.attendee_properties(part)[0])
            partstat = itip.partstat(part, itip.address(who)) or "NEEDS-ACTION"
            note = imip.notice(who.removeprefix("mailto:"), partstat, current, self._zone)
            self._deliveries.queue([OutgoingMail("NOTICE", organiser.email, organiser.name, note)])
        return True

    def _refreshes(
        self, organiser: User, current: icalendar.Calendar, uid: str, answered: list[str]
    ) -> list[LocalDelivery]:
        """The other local attendees' copies, with the answers as the organiser's copy now has
        them: written in place, no inbox item, no mail. Whoever answered already has theirs,
        and a copy its owner deleted is not brought back."""
        if not answered:
            return []
        skip = own_addresses(organiser) | set(answered)
        others = {
            address: prop
            for address, prop in itip.attendees_of(current).items()
            if address not in skip and itip.server_schedules(prop)
        }
        recipients = self._deliveries.recipients(others).values()
        users = {r.user.name: r.user for r in recipients if r.user is not None}
        have_copies = self._copies.find_all((uid, name) for name in users)
        copy = attendee_copy(current).to_ical().decode()
        return [LocalDelivery(users[name], [], copy, uid, refresh=True) for _, name in have_copies]

    def organiser_copy(self, organiser: str, uid: str) -> icalendar.Calendar | None:
        path = self._copies.find(uid, organiser)
        return itip.parse(self._deliveries.read(path)) if path else None


def own_address(user: User, calendar: icalendar.Calendar) -> str | None:
    """The address by which ``user`` is an attendee of ``calendar``, if they are one."""
    attendees = itip.attendees_of(calendar)
    for candidate in calendar_user_addresses(user):
        if itip.address(candidate) in attendees:
            return itip.address(candidate)
    return None


def is_organiser(user: User, calendar: icalendar.Calendar) -> bool:
    organiser = itip.organizer_of(calendar)
    own = {itip.address(a) for a in calendar_user_addresses(user)}
    return organiser is not None and itip.address(organiser) in own


def _server_schedules_organiser(calendar: icalendar.Calendar) -> bool:
    organiser = itip.organizer_of(calendar)
    return organiser is not None and itip.server_schedules(organiser)
