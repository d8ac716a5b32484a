"""The scheduling agent: for one PUT or DELETE of a user's event, what the server does.

The organiser's change is scheduled by ``implicit``; an attendee's change of
their own copy becomes a REPLY through ``replies``; anything else (no
ORGANIZER, someone else's event the user is not invited to) is left alone.
A plan is made before Radicale stores the change (it may alter the body) and
carried out only after Radicale accepted it.
"""

from __future__ import annotations

import logging

from davserver.accounts.directory import User
from plugins.scheduling import itip
from plugins.scheduling.delivery import Deliveries
from plugins.scheduling.implicit import ImplicitScheduling, Plan
from plugins.scheduling.replies import Replies, is_organiser, own_address

logger = logging.getLogger("murmeli.scheduling")


class SchedulingAgent:
    def __init__(
        self, deliveries: Deliveries, implicit: ImplicitScheduling, replies: Replies
    ) -> None:
        self._deliveries = deliveries
        self._implicit = implicit
        self.replies = replies

    def plan_put(self, user: User, item_path: str, old_text: str | None, body: bytes) -> Plan:
        new = itip.parse(body)
        if new is None or itip.organizer_of(new) is None:
            return Plan()
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

    def carry_out(self, plan: Plan) -> None:
        """Deliver what ``plan`` holds: the local deliveries at once, the mail queued."""
        for step in plan.after:
            step()
        try:
            self._deliveries.deliver(plan.local)
        except Exception:
            logger.exception("scheduling: local delivery failed")
        self._deliveries.queue(plan.mails)
