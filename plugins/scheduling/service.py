"""Scheduling put together from Murmeli's services: the DAV layer, the agent, the mail
queue and its worker, the answer links."""

from __future__ import annotations

from email.headerregistry import Address
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import icalendar

from config.settings import Settings
from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import Directory
from davserver.clock import Clock
from davserver.collections import Collections
from davserver.database import Database
from davserver.mail import Mailer
from plugins.availability.lookup import Availability
from plugins.scheduling import imip, itip
from plugins.scheduling.agent import SchedulingAgent
from plugins.scheduling.copies import Copies
from plugins.scheduling.delivery import Deliveries
from plugins.scheduling.implicit import ImplicitScheduling
from plugins.scheduling.links import ANSWERS, AnswerLinks
from plugins.scheduling.middleware import SchedulingLayer, WsgiApp
from plugins.scheduling.queue import MailQueue, MailWorker, OutgoingMail
from plugins.scheduling.replies import Replies
from plugins.scheduling.schedule_tags import ScheduleTags

if TYPE_CHECKING:  # services.py builds Scheduling: importing it here would be circular
    from davserver.services import Services

ANSWER_PREFIX = "/api/scheduling/answer/"


class Scheduling:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        directory: Directory,
        collections: Collections,
        availability: Availability,
        authenticator: Authenticator,
        mailer: Mailer,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._collections = collections
        self._availability = availability
        self._authenticator = authenticator
        self._mailer = mailer
        self.zone = ZoneInfo(settings.availability.timezone)
        self.queue = MailQueue(database)
        self.links = AnswerLinks(database, settings.scheduling.link_days, clock)
        copies = Copies(database)
        self.tags = ScheduleTags(database)
        deliveries = Deliveries(settings, directory, collections, copies, self.tags, self.queue)
        self.replies = Replies(deliveries, copies, self.zone)
        self.implicit = ImplicitScheduling(deliveries, copies)
        self.agent = SchedulingAgent(deliveries, self.implicit, self.replies, self.tags)

    def layer(self, dav: WsgiApp) -> SchedulingLayer:
        availability = self._settings.availability
        return SchedulingLayer(
            dav,
            self._authenticator,
            self._directory,
            self._collections,
            self._availability,
            self.agent,
            self.tags,
            self.zone,
            availability.max_attendees,
            availability.max_window_days,
            self._settings.scheduling.max_attendees,
        )

    def worker(self, base_url: str) -> MailWorker:
        settings = self._settings.scheduling
        return MailWorker(
            self.queue,
            self._mailer,
            lambda mail: self.compose(mail, base_url.rstrip("/")),
            self.implicit.report_unsent,
            settings.poll_interval,
            settings.max_attempts,
        )

    def compose(self, mail: OutgoingMail, base_url: str):
        """The email for a queued row; an invitation gets fresh answer links."""
        sender_user = self._directory.find(mail.organiser)
        display = sender_user.name if sender_user else mail.organiser
        sender = Address(f"{display} (via Murmeli)", addr_spec=self._mailer.from_address)
        reply_to = sender_user.email if sender_user else None
        if mail.kind == "NOTICE":
            return imip.compose_notice(mail, sender)
        calendar = icalendar.Calendar.from_ical(mail.payload)
        links = {}
        if mail.kind == "REQUEST":
            token = self.links.issue(
                mail.organiser,
                itip.uid_of(calendar) or "",
                f"mailto:{mail.recipient.lower()}",
                itip.sequence(itip.master(calendar)),
            )
            links = {answer: f"{base_url}{ANSWER_PREFIX}{token}/{answer}" for answer in ANSWERS}
        return imip.compose_itip(mail, calendar, sender, reply_to, self.zone, links)


def start_worker(services: Services, public_url: str) -> MailWorker | None:
    """The running mail worker when scheduling is on; answer links use
    ``scheduling.public_url``, else the server's ``public_url``."""
    settings = services.settings
    if not settings.scheduling.enabled:
        return None
    worker = services.scheduling.worker(settings.scheduling.public_url or public_url)
    worker.start()
    return worker
