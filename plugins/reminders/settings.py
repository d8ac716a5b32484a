"""The ``reminders`` section: whether ``murmeli serve`` delivers alarms, how often, where to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.schema import boolean, option, optional, path, text

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def duration(value: Any) -> float:
    """Seconds, from ``90``, ``500ms``, ``30s``, ``5m``, ``2h`` or ``7d``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if not match or float(match[1]) == 0:
        raise ValueError(f"expected a duration such as 30s, 5m, 2h or 7d, got {value!r}")
    return float(match[1]) * _SECONDS[match[2]]


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
    test_clock_file: Path | None = option(
        None,
        optional(path),
        "TESTS ONLY: the scheduler reads the current time (ISO 8601) from this file",
    )
