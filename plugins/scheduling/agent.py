"""The scheduling agent: for one PUT or DELETE of a user's event, what the server does.

The organiser's change is scheduled by ``implicit``; an attendee's change of
their own copy becomes a REPLY through ``replies``; anything else (no
ORGANIZER, someone else's event the user is not invited to) is left alone.
A plan is made before Radicale stores the change (it may alter the body and
sets the Schedule-Tag) and carried out only after Radicale accepted it.
"""

from __future__ import annotations

import logging

import icalendar

from davserver.accounts.directory import User
from plugins.scheduling import itip
from plugins.scheduling.delivery import DELIVERED, UNDELIVERED, Deliveries
from plugins.scheduling.implicit import ImplicitScheduling, Plan
from plugins.scheduling.replies import Replies, is_organiser, own_address
from plugins.scheduling.schedule_tags import ScheduleTags

logger = logging.getLogger("murmeli.scheduling")


class SchedulingAgent:
    def __init__(
        self,
        deliveries: Deliveries,
        implicit: ImplicitScheduling,
        replies: Replies,
        tags: ScheduleTags,
    ) -> None:
        self._deliveries = deliveries
        self._implicit = implicit
        self.replies = replies
        self._tags = tags

    @staticmethod
    def scheduling_object(body: bytes) -> icalendar.Calendar | None:
        """The PUT body parsed, when it is a scheduling object (it has an ORGANIZER): the one
        parse of it, before any other work, which no other PUT needs."""
        new = itip.parse(body)
        return new if itip.organizer_of(new) is not None else None

    def plan_put(
        self, user: User, item_path: str, old_text: str | None, new: icalendar.Calendar
    ) -> Plan:
        """``new``: the ``scheduling_object`` of the body."""
        old = itip.parse(old_text)
        if is_organiser(user, new):
            return self._implicit.organiser_put(user, item_path, old, new)
        if own_address(user, new) is not None:
            return self.replies.attendee_put(user, item_path, old, new)
        return Plan()

    def plan_delete(self, user: User, old_text: str | None) -> Plan:
        old = itip.parse(old_text)
        if old is None or itip.organizer_of(old) is None:
            return Plan()
        if is_organiser(user, old):
            return self._implicit.organiser_delete(user, old)
        if own_address(user, old) is not None:
            return self.replies.attendee_delete(user, old)
        return Plan()

    def stored(self, item_path: str) -> str | None:
        """The item as stored now: what the change is compared against."""
        return self._deliveries.read(item_path)

    def schedule_tag(self, plan: Plan) -> str | None:
        """The Schedule-Tag the stored resource will have: new for the organiser's change,
        kept for an attendee's own (RFC 6638 §3.2.10). Set before Radicale stores it, so no
        client reads the new item with the old tag."""
        path = plan.item_path
        if path is None:
            return None
        if plan.organiser_change:
            return self._tags.assign(renewed=[path])[path]
        return self._tags.assign(renewed=[], kept=[path])[path]

    def carry_out(self, plan: Plan) -> None:
        """Deliver what ``plan`` holds: the local deliveries at once, the mail queued; the
        organiser's copy then tells of any local delivery that failed."""
        for step in plan.after:
            step()
        try:
            failed = self._deliveries.deliver(plan.local)
        except Exception:
            logger.exception("scheduling: local delivery failed")
            failed = plan.local
        if failed and plan.organiser_change and plan.item_path:
            statuses = {d.address: UNDELIVERED for d in failed if d.address is not None}
            self._implicit.report_undelivered(plan.item_path, statuses, DELIVERED)
        self._deliveries.queue(plan.mails)
