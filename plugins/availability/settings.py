"""The ``availability`` section of the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.schema import integer, option


def zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA zone such as Europe/Zurich, got {value!r}") from None
    return str(value)


@dataclass(frozen=True)
class AvailabilitySettings:
    timezone: str = option("UTC", zone, "organisers' zone when a request names none")
    max_attendees: int = option(50, integer(1, 1000), "most attendees in one lookup")
    max_window_days: int = option(62, integer(1, 366), "longest search window, in days")
