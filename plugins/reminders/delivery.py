"""Turns a firing into a reminder: an email to the owner, or a message to the chat webhook.

Both say what the event is, when (in the event's own zone, else UTC), where,
and carry the link that stops the alarm. The webhook gets the JSON body
Mattermost and Slack incoming webhooks accept: ``{"text": ...}``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from davserver.mail import Mailer, MailError
from plugins.reminders.alarms import Firing

WEBHOOK_TIMEOUT = 30


class DeliveryError(RuntimeError):
    """A reminder could not be handed on; it is retried on the next scan."""


def when(firing: Firing) -> str:
    """``Monday 01 March 2027, 10:00 (Europe/Berlin)``, or the date alone for all-day events."""
    start = firing.start
    if not isinstance(start, datetime):
        return f"{start:%A %d %B %Y} (all day)"
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return f"{start:%A %d %B %Y, %H:%M} ({start.tzinfo})"


def _title(firing: Firing) -> str:
    return firing.summary or "(untitled event)"


def reminder_text(firing: Firing, stop_url: str) -> str:
    lines = [f"Reminder: {_title(firing)}", f"When: {when(firing)}"]
    if firing.location:
        lines.append(f"Where: {firing.location}")
    stop = "Stop these reminders" if firing.repeats else "Stop reminders for this event"
    lines += ["", f"{stop}: {stop_url}"]
    return "\n".join(lines) + "\n"


class Delivery:
    def __init__(self, mailer: Mailer, webhook_url: str | None) -> None:
        self._mailer = mailer
        self._webhook_url = webhook_url

    def email(self, address: str, firing: Firing, stop_url: str, sent: datetime) -> None:
        message = EmailMessage()
        message["To"] = address
        message["Subject"] = f"Reminder: {_title(firing)} — {when(firing)}"
        message["Date"] = format_datetime(sent)
        message["Message-ID"] = make_msgid(domain=self._mailer.from_address.rpartition("@")[2])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(reminder_text(firing, stop_url))
        try:
            self._mailer.send(message)
        except MailError as error:
            raise DeliveryError(str(error)) from None

    def chat(self, owner: str, firing: Firing, stop_url: str) -> None:
        if self._webhook_url is None:
            raise DeliveryError("alarm asks for chat but reminders.webhook_url is not set")
        body = json.dumps({"text": f"For {owner}: {reminder_text(firing, stop_url)}"}).encode()
        request = urllib.request.Request(
            self._webhook_url,
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as answer:
                answer.read()
        except (OSError, urllib.error.HTTPError) as error:
            raise DeliveryError(f"chat webhook: {error}") from None
