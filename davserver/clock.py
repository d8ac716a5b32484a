"""The server's notion of "now" (reminders, secure-message expiry): the system clock,
or a file a test rewrites.

The file clock exists so acceptance tests can move a real server's time
forward by minutes or days without waiting; it is enabled only by the
``server.test_clock_file`` option, which says so in its name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    def __init__(self, path: Path) -> None:
        self._path = path

    def now(self) -> datetime:
        """The instant written in the file (ISO 8601 with offset), read at every call."""
        text = self._path.read_text(encoding="utf-8").strip()
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{self._path}: expected an ISO 8601 instant, got {text!r}") from None
        if instant.tzinfo is None:
            raise ValueError(f"{self._path}: the instant {text!r} needs a UTC offset")
        return instant.astimezone(UTC)
