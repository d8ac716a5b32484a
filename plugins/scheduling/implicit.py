"""Implicit scheduling of the organiser's changes (RFC 6638 §3.2.1, §3.2.2.1).

When the organiser stores or deletes an event with attendees, the server
tells them: a REQUEST to every attendee when the event is new to them or
changed where they can see it, a CANCEL for each occurrence cancelled (a new
EXDATE, or an override set CANCELLED), a CANCEL to attendees removed and to
everyone when the event is deleted. Before Radicale stores the organiser's copy,
SEQUENCE is raised where the client forgot and each attendee gets its
SCHEDULE-STATUS, and answers are reset where an instance moved (reschedule.py);
deliveries happen after Radicale answered. Attendees marked
SCHEDULE-AGENT=CLIENT (or NONE) are left to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import icalendar

from davserver.accounts.directory import User
from davserver.collections import CollectionChanged
from plugins.scheduling import itip, reschedule
from plugins.scheduling.attendee_copy import attendee_copy
from plugins.scheduling.copies import ORGANISER, Copies
from plugins.scheduling.delivery import (
    INVALID,
    SENT,
    UNDELIVERED,
    Deliveries,
    LocalDelivery,
    Recipient,
)
from plugins.scheduling.properties import calendar_user_addresses
from plugins.scheduling.queue import OutgoingMail

logger = logging.getLogger("murmeli.scheduling")
_NOT_EXDATE = tuple(name for name in itip.VISIBLE if name != "EXDATE")


@dataclass
class Plan:
    """What one request does: the body to store instead of the client's, and what to send."""

    body: bytes | None = None
    local: list[LocalDelivery] = field(default_factory=list)
    mails: list[OutgoingMail] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    item_path: str | None = None  # the scheduling object resource the request stores
    organiser_change: bool = False  # its Schedule-Tag moves on; its SCHEDULE-STATUS reports

    @property
    def empty(self) -> bool:
        return self.body is None and not (self.local or self.mails or self.after)


class Message(NamedTuple):
    """An iTIP message, serialised once however many recipients it goes to."""

    method: str
    text: str

    @classmethod
    def of(cls, calendar: icalendar.Calendar) -> Message:
        return cls(str(calendar["METHOD"]), calendar.to_ical().decode())


class ImplicitScheduling:
    def __init__(self, deliveries: Deliveries, copies: Copies) -> None:
        self._deliveries = deliveries
        self._copies = copies

    def organiser_put(
        self,
        organiser: User,
        item_path: str,
        old: icalendar.Calendar | None,
        new: icalendar.Calendar,
    ) -> Plan:
        uid = itip.uid_of(new)
        plan = Plan()
        if uid is None:
            return plan
        own = own_addresses(organiser)
        before, now = _others(own, old), _others(own, new)
        if not before and not now:
            return plan
        itip.bump_sequences(old, new)
        reschedule.reset_answers(new, reschedule.rescheduled(old, new), own)
        visible = _visible_change(old, new)
        instances = itip.cancelled_instances(old, new)
        recipients = self._deliveries.recipients({**before, **now})
        invitation = Message.of(itip.request(new))
        messages: dict[str, list[Message]] = {}
        for address, prop in now.items():
            if address not in before or visible:
                messages.setdefault(address, []).append(invitation)
            if address in before:
                messages.setdefault(address, []).extend(
                    Message.of(itip.cancel(new, prop, key)) for key in instances
                )
        for address, prop in before.items():
            if address not in now:
                messages.setdefault(address, []).append(Message.of(itip.cancel(old, prop)))
        itip.set_schedule_status(new, {a: recipients[a].status for a in now if a in messages})
        plan.body = new.to_ical()
        plan.item_path, plan.organiser_change = item_path, True
        self._plan_deliveries(plan, organiser, uid, recipients, messages, new, now)
        plan.after.append(lambda: self._copies.record(uid, organiser.name, item_path, ORGANISER))
        return plan

    def report_undelivered(self, item_path: str, statuses: dict[str, str], replacing: str) -> None:
        """SCHEDULE-STATUS ``statuses`` (address -> 5.1 or 3.7) in the organiser's copy for
        attendees whose message failed after the copy was stored saying ``replacing`` (1.2
        or 1.1; RFC 6638 §3.2.9). Written only on failure, so the usual case costs no second
        write; never over a change made meanwhile, nor over a status set since. Like answers
        merged in, it keeps the copy's Schedule-Tag."""
        text = self._deliveries.read(item_path)
        calendar = itip.parse(text)
        invited = itip.attendees_of(calendar)
        statuses = {
            address: status
            for address, status in statuses.items()
            if address in invited and invited[address].params.get("SCHEDULE-STATUS") == replacing
        }
        if calendar is None or not statuses:
            return
        itip.set_schedule_status(calendar, statuses)
        try:
            self._deliveries.write(item_path, calendar.to_ical().decode(), expect=text)
        except CollectionChanged:
            logger.warning(
                "scheduling: %s changed meanwhile; failed deliveries not noted", item_path
            )

    def report_unsent(self, mail: OutgoingMail, refused: bool) -> None:
        """An invitation email given up: 3.7 (refused for good) or 5.1 for that attendee in the
        organiser's copy. Only for a REQUEST (a CANCEL's attendee is gone from the copy, a
        REPLY or note has no attendee status), and only for the latest mail to that attendee
        about that event: a newer one's own outcome tells."""
        if mail.kind != "REQUEST":
            return
        uid = itip.uid_of(itip.parse(mail.payload))
        later = [m for m in self._deliveries.queued_after(mail) if m.kind == "REQUEST"]
        if uid is None or any(itip.uid_of(itip.parse(m.payload)) == uid for m in later):
            return
        path = self._copies.find(uid, mail.organiser)
        if path is not None:
            status = INVALID if refused else UNDELIVERED
            self.report_undelivered(path, {itip.address(f"mailto:{mail.recipient}"): status}, SENT)

    def organiser_delete(self, organiser: User, old: icalendar.Calendar) -> Plan:
        uid = itip.uid_of(old)
        plan = Plan()
        if uid is None:
            return plan
        before = _others(own_addresses(organiser), old)
        recipients = self._deliveries.recipients(before)
        messages = {a: [Message.of(itip.cancel(old, prop))] for a, prop in before.items()}
        self._plan_deliveries(plan, organiser, uid, recipients, messages, old, {})
        plan.after.append(lambda: self._copies.forget(uid, organiser.name))
        return plan

    def _plan_deliveries(
        self,
        plan: Plan,
        organiser: User,
        uid: str,
        recipients: dict[str, Recipient],
        messages: dict[str, list[Message]],
        current: icalendar.Calendar,
        invited: dict[str, icalendar.vCalAddress],
    ) -> None:
        copy = attendee_copy(current).to_ical().decode() if invited else None
        for address, sent in messages.items():
            recipient = recipients[address]
            if recipient.user is not None:
                theirs = copy if address in invited else self._cancelled_copy(uid, recipient.user)
                texts = [m.text for m in sent]
                plan.local.append(
                    LocalDelivery(recipient.user, texts, theirs, uid, address=recipient.address)
                )
            elif recipient.email:
                plan.mails += [
                    OutgoingMail(m.method, recipient.email, organiser.name, m.text) for m in sent
                ]

    def _cancelled_copy(self, uid: str, user: User) -> str | None:
        existing = self._deliveries.existing_copy(uid, user.name)
        if existing is None:
            return None
        for component in itip.components(existing):
            component.pop("STATUS", None)
            component.add("STATUS", "CANCELLED")
        return existing.to_ical().decode()


def own_addresses(user: User) -> set[str]:
    return {itip.address(a) for a in calendar_user_addresses(user)}


def _others(own: set[str], calendar: icalendar.Calendar | None) -> dict[str, icalendar.vCalAddress]:
    """A calendar's attendees the server schedules, the organiser (``own``) excluded."""
    return {
        address: prop
        for address, prop in itip.attendees_of(calendar).items()
        if address not in own and itip.server_schedules(prop)
    }


def _visible_change(old: icalendar.Calendar | None, new: icalendar.Calendar) -> bool:
    """Any instance new, gone or changed for attendees; cancelled instances are told apart."""
    if old is None:
        return True
    before, after = itip.by_instance(old), itip.by_instance(new)
    cancelled = set(itip.cancelled_instances(old, new))
    for key, component in after.items():
        if key in cancelled:
            continue
        if itip.changed(before.get(key), component, _NOT_EXDATE):
            return True
    return bool(set(before) - set(after))
