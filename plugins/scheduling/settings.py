"""The ``scheduling`` section: invitations by email and the links in them."""

from __future__ import annotations

from dataclasses import dataclass

from config.schema import boolean, duration, integer, option, optional, text


@dataclass(frozen=True)
class SchedulingSettings:
    enabled: bool = option(
        True, boolean, "CalDAV scheduling: invitations, answers and free/busy through the outbox"
    )
    public_url: str | None = option(
        None,
        optional(text),
        "base of the answer links in invitation emails (default: server.base_url, "
        "then the address the server listens on)",
    )
    poll_interval: float = option(30, duration, "how often the mail queue is retried")
    max_attempts: int = option(20, integer(1, 1000), "sending attempts before a mail is dropped")
    link_days: int = option(90, integer(1, 3650), "days an answer link stays valid")
    max_attendees: int = option(
        100,
        integer(1, 10_000),
        "most attendees an event may invite; each outside one is sent mail (more: 403)",
    )
