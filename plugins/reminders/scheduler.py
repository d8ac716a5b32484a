"""The background worker of ``murmeli serve`` that delivers due reminders.

Every ``poll_interval`` it reads each user's own calendars straight from
Radicale's folders, without Radicale's lock (items are replaced atomically, so
a reader never sees half a file, and writers are never held up; a folder whose
mtime did not change is not read again), computes from the *current* data the firings
between the persisted "scanned up to" instant and now, and delivers those not
yet sent. So an event moved or deleted before its alarm sends nothing, and a
restart neither repeats nor loses a reminder. Only the calendar's owner is
reminded: guests of an event and people a calendar is shared with are not.

The scanned-up-to instant advances only when every firing of the window went
out; one that could not (SMTP down) is retried on later scans until it is
older than ``reminders.horizon``. Delivery is per channel and recorded right
after it succeeds, so a retry never repeats what already went out.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from davserver.accounts.directory import User
from davserver.services import Services
from plugins.reminders.alarms import CHAT, EMAIL, Firing, firings, may_fire
from plugins.reminders.delivery import Delivery, DeliveryError
from plugins.reminders.routes import stop_path
from plugins.reminders.store import ReminderStore

logger = logging.getLogger("murmeli.reminders")


class Scheduler:
    def __init__(self, services: Services, base_url: str) -> None:
        self._settings = services.settings.reminders
        self._directory = services.directory
        self._collections = services.collections
        self._alarm_cache: dict[Path, tuple[int, list[str]]] = {}
        self._store = ReminderStore(services.database)
        self._mailer = services.mailer
        self._delivery = Delivery(services.mailer, self._settings.webhook_url)
        self._clock = services.clock
        self._base_url = base_url.rstrip("/")
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="murmeli-reminders", daemon=True)

    def start(self) -> None:
        if not self._mailer.configured:
            logger.warning("reminders: smtp.host is not set, so EMAIL alarms are not sent")
        self._thread.start()

    def stop(self) -> None:
        """Let a scan in progress finish its current delivery, then end the worker."""
        self._stopping.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        interval = self._settings.poll_interval
        while not self._stopping.is_set():
            try:
                self.scan()
            except Exception:
                logger.exception("reminders: scan failed; retrying in %ss", interval)
            self._stopping.wait(interval)

    def scan(self) -> None:
        """Deliver what fell due since the last scan; the very first scan only marks the start,
        so enabling reminders does not send every past alarm."""
        now = self._clock.now().replace(microsecond=0)
        scanned_to = self._store.scanned_to()
        if scanned_to is None:
            self._store.set_scanned_to(int(now.timestamp()))
            return
        after = max(
            datetime.fromtimestamp(scanned_to, UTC),
            now - timedelta(seconds=self._settings.horizon),
        )
        if now <= after:
            return
        complete = True
        for user in self._directory.list():
            for text in self._alarm_texts(user.name):
                for firing in self._firings(user.name, text, after, now):
                    if self._stopping.is_set():
                        return
                    complete = self._deliver(user, firing, now) and complete
        if complete:
            self._store.set_scanned_to(int(now.timestamp()))
        self._store.prune(int(now.timestamp()), self._settings.horizon)

    @staticmethod
    def _firings(owner: str, text: str, after: datetime, now: datetime) -> list[Firing]:
        """One item Radicale accepted but the alarm rules cannot read must not hold up the rest."""
        try:
            return firings(text, after, now)
        except Exception as error:
            logger.warning("reminders: skipping an unreadable event of %s: %s", owner, error)
            return []

    def _alarm_texts(self, owner: str) -> list[str]:
        """The items with deliverable alarms in ``owner``'s own calendars (shares with
        ``owner`` are not in their home folder: their owners are reminded, not ``owner``)."""
        texts: list[str] = []
        for calendar in self._collections.calendars_of(owner):
            texts += self._folder_alarm_texts(self._collections.folder(calendar))
        return texts

    def _folder_alarm_texts(self, folder: Path) -> list[str]:
        try:
            signature = folder.stat().st_mtime_ns
        except FileNotFoundError:
            return []
        cached = self._alarm_cache.get(folder)
        if cached is not None and cached[0] == signature:
            return cached[1]
        texts = []
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file():
                    continue
                text = Path(entry.path).read_bytes().decode("utf-8", errors="replace")
                if may_fire(text):
                    texts.append(text)
        self._alarm_cache[folder] = (signature, texts)
        return texts

    def _deliver(self, user: User, firing: Firing, now: datetime) -> bool:
        """Send ``firing`` on each channel it asks for; False if one must be retried."""
        if self._store.is_stopped(user.name, firing):
            return True
        channels = [
            channel
            for channel in sorted(firing.channels)
            if self._reachable(user, channel)
            and not self._store.was_sent(user.name, firing, channel)
        ]
        if not channels:
            return True
        stop_url = self._base_url + stop_path(self._store.new_stop_token(user.name, firing))
        for channel in channels:
            try:
                if channel == EMAIL:
                    self._delivery.email(user.email or "", firing, stop_url, now)
                else:
                    self._delivery.chat(user.name, firing, stop_url)
            except DeliveryError as error:
                logger.warning("reminders: %s for %s not delivered: %s", channel, user.name, error)
                return False
            self._store.record_sent(user.name, firing, channel)
            logger.info("reminders: %s sent to %s for %r", channel, user.name, firing.summary)
        return True

    def _reachable(self, user: User, channel: str) -> bool:
        if channel == CHAT:
            return self._settings.webhook_url is not None
        return self._mailer.configured and bool(user.email)


def start(services: Services, public_url: str) -> Scheduler | None:
    """The running worker when ``reminders.enabled``; stop links use ``reminders.public_url``,
    else the server's ``public_url``."""
    settings = services.settings
    if not settings.reminders.enabled:
        return None
    scheduler = Scheduler(services, settings.reminders.public_url or public_url)
    scheduler.start()
    return scheduler
