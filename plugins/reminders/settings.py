"""The ``reminders`` section: whether ``murmeli serve`` delivers alarms, how often, where to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.schema import boolean, duration, option, optional, text


def webhook(value: Any) -> str:
    url = text(value)
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"expected an http(s):// URL, got {value!r}")
    return url


@dataclass(frozen=True)
class RemindersSettings:
    enabled: bool = option(False, boolean, "deliver EMAIL alarms (and chat alarms) from the server")
    webhook_url: str | None = option(
        None,
        optional(webhook),
        "Mattermost/Slack-compatible incoming webhook for alarms marked X-MURMELI-CHAT:TRUE",
    )
    poll_interval: float = option(60, duration, "how often calendars are scanned for due alarms")
    horizon: float = option(
        86400,
        duration,
        "how late a reminder may still go out (server down, SMTP unreachable); older: dropped",
    )
    public_url: str | None = option(
        None, optional(text), "base URL of the stop links in reminders (default: server.base_url)"
    )
