"""Delivery of iTIP messages (RFC 6638 §4): into a local account, or to the mail queue.

A local recipient gets the message in their schedule inbox and, for an
invitation or cancellation, their copy of the event in their default calendar
(mailboxes.default_calendar: another of theirs, or made anew, if they deleted
it), or wherever their copy already is, keeping the alarms they set on it, written
through Radicale's storage so their clients see it on the next sync. A copy
carrying the organiser's change gets a new Schedule-Tag first; a refreshed one
keeps its tag (schedule_tags.py). All local recipients of one change are
written under one storage write lock; if that fails, account by account, so one
broken account does not stop the others, and the caller learns which failed.
Anyone else gets an iMIP email, queued. Called after Radicale has answered the
request that caused it, never from inside Radicale, so no storage lock is held
by the caller.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import icalendar

from config.settings import Settings
from davserver.accounts.directory import Directory, User
from davserver.collections import Collections
from davserver.radicale_config import default_collections
from plugins.scheduling import itip
from plugins.scheduling.attendee_copy import answered_as_in, personalised
from plugins.scheduling.copies import ATTENDEE, Copies, Copy
from plugins.scheduling.mailboxes import default_calendar, inbox_path, new_message_href
from plugins.scheduling.properties import calendar_user_addresses
from plugins.scheduling.queue import MailQueue, OutgoingMail
from plugins.scheduling.schedule_tags import ScheduleTags

logger = logging.getLogger("murmeli.scheduling")
DELIVERED, SENT, INVALID, UNDELIVERED = "1.2", "1.1", "3.7", "5.1"


@dataclass(frozen=True)
class Recipient:
    address: str  # comparable form (itip.address)
    prop: icalendar.vCalAddress  # as the event names them
    user: User | None  # the local account, if any

    @property
    def email(self) -> str | None:
        if self.address.startswith("mailto:"):
            return self.address[7:]
        return None

    @property
    def status(self) -> str:
        """SCHEDULE-STATUS for the organiser's copy."""
        if self.user is not None:
            return DELIVERED
        return SENT if self.email else INVALID


@dataclass(frozen=True)
class LocalDelivery:
    """Serialised once per change, shared by every recipient it goes to."""

    recipient: User
    messages: list[str]  # iTIP messages for their inbox
    copy: str | None  # their new copy of the event; None: leave it
    uid: str
    address: str | None = None  # who they are in the organiser's copy (SCHEDULE-STATUS)
    refresh: bool = False  # other attendees' answers only: the copy keeps its Schedule-Tag


@dataclass(frozen=True, eq=False)
class _Writes:
    user: str
    changes: dict[str, dict[str, str]]  # collection path -> href -> text
    copy: Copy | None
    delivery: LocalDelivery


class Deliveries:
    def __init__(
        self,
        settings: Settings,
        directory: Directory,
        collections: Collections,
        copies: Copies,
        tags: ScheduleTags,
        queue: MailQueue,
    ) -> None:
        self._settings = settings
        self._directory = directory
        self._collections = collections
        self._copies = copies
        self._tags = tags
        self._queue = queue

    def recipient(self, prop: icalendar.vCalAddress) -> Recipient:
        address = itip.address(prop)
        return self.recipients({address: prop})[address]

    def recipients(self, props: dict[str, icalendar.vCalAddress]) -> dict[str, Recipient]:
        """address (itip.address) -> Recipient for each of ``props``; the ``mailto:`` ones are
        looked up together, not one query per attendee."""
        by_email = self._directory.find_all_by_address(a for a in props if a.startswith("mailto:"))
        return {
            a: Recipient(a, prop, by_email.get(a) or self._principal(a))
            for a, prop in props.items()
        }

    def _principal(self, address: str) -> User | None:
        """The account a principal URL (``/name/``) names, if the address is one."""
        if address.startswith("mailto:"):
            return None
        path = urlsplit(address).path if "://" in address else address
        parts = path.strip("/").split("/")
        return self._directory.find(parts[0]) if path.startswith("/") and len(parts) == 1 else None

    def deliver(self, deliveries: list[LocalDelivery]) -> list[LocalDelivery]:
        """Write every delivery of one change, then record where the copies are; returns the
        deliveries that failed."""
        if not deliveries:
            return []
        writes, failed = self._prepare(deliveries)
        self._tags.assign(
            renewed=[w.copy.path for w in writes if w.copy and not w.delivery.refresh],
            kept=[w.copy.path for w in writes if w.copy and w.delivery.refresh],
        )
        written = self._write_all(writes)
        failed += [w.delivery for w in writes if w not in written]
        self._copies.record_all([w.copy for w in written if w.copy is not None], ATTENDEE)
        return failed

    def _prepare(
        self, deliveries: list[LocalDelivery]
    ) -> tuple[list[_Writes], list[LocalDelivery]]:
        """What to write for each delivery, and those that cannot be (a broken account)."""
        known = self._copies.find_all(
            (d.uid, d.recipient.name) for d in deliveries if d.copy is not None
        )
        writes, failed = [], []
        for delivery in deliveries:
            try:
                writes.append(self._writes(delivery, known))
            except Exception as error:
                logger.warning(
                    "scheduling: delivery to %s failed: %r", delivery.recipient.name, error
                )
                failed.append(delivery)
        return writes, failed

    def _write_all(self, writes: list[_Writes]) -> list[_Writes]:
        """Those of ``writes`` that are stored: all under one lock, or else each alone."""
        try:
            self._collections.write_many(_merged(w.changes for w in writes))
        except Exception as error:
            logger.warning(
                "scheduling: delivery to %d accounts failed (%r); each alone", len(writes), error
            )
            return [w for w in writes if self._write_alone(w)]
        return writes

    def _writes(self, delivery: LocalDelivery, known: dict[tuple[str, str], str]) -> _Writes:
        user = delivery.recipient.name
        self._provide_account(user)
        changes: dict[str, dict[str, str]] = {}
        if delivery.messages:
            changes[inbox_path(user)] = {new_message_href(): text for text in delivery.messages}
        if delivery.copy is None:
            return _Writes(user, changes, None, delivery)
        path = known.get((delivery.uid, user))
        if path is None or not self._collections.folder(path.rpartition("/")[0]).is_dir():
            path = self._new_copy_path(user, delivery.uid)
        collection, _, href = path.rpartition("/")
        own = {itip.address(a) for a in calendar_user_addresses(delivery.recipient)}
        copy = personalised(delivery.copy, self.read(path), own)
        changes[collection + "/"] = {href: copy}
        if delivery.messages:
            changes[inbox_path(user)] = {
                href: answered_as_in(text, copy, own)
                for href, text in changes[inbox_path(user)].items()
            }
        return _Writes(user, changes, Copy(delivery.uid, user, path), delivery)

    def _write_alone(self, writes: _Writes) -> bool:
        try:
            self._collections.write_many(writes.changes)
        except Exception as error:
            logger.warning("scheduling: delivery to %s failed: %r", writes.user, error)
            return False
        return True

    def existing_copy(self, uid: str, user: str) -> icalendar.Calendar | None:
        path = self._copies.find(uid, user)
        return itip.parse(self.read(path)) if path else None

    def read(self, item_path: str) -> str | None:
        """An item's text straight from Radicale's folder (files are replaced atomically)."""
        collection, _, href = item_path.rpartition("/")
        try:
            return (self._collections.folder(collection) / href).read_bytes().decode("utf-8")
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            return None

    def write(self, item_path: str, text: str, expect: str | None) -> None:
        collection, _, href = item_path.rpartition("/")
        self._collections.write(collection + "/", put={href: text}, expect={href: expect})

    def queue(self, mails: list[OutgoingMail]) -> None:
        self._queue.enqueue(mails)

    def queued_after(self, mail: OutgoingMail) -> list[OutgoingMail]:
        return self._queue.later(mail)

    def _new_copy_path(self, user: str, uid: str) -> str:
        """In the user's default calendar, made again if they deleted every calendar."""
        calendar = default_calendar(self._collections, user)
        self._collections.provide(calendar, default_collections(self._settings)["calendar"])
        name = hashlib.sha256(uid.encode()).hexdigest()[:40]
        return f"{calendar}{name}.ics"

    def _provide_account(self, user: str) -> None:
        """An invited account that never logged in gets what its first login would make."""
        if self._collections.folder(inbox_path(user)).is_dir():
            return
        self._collections.provide(f"/{user}/", {})
        for name, props in default_collections(self._settings).items():
            self._collections.provide(f"/{user}/{name}/", props)


def _merged(all_changes) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for changes in all_changes:
        for path, put in changes.items():
            merged.setdefault(path, {}).update(put)
    return merged
