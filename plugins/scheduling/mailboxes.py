"""Each account's schedule inbox and outbox (RFC 6638 §2.1, §2.2) and default calendar.

The mailboxes are calendar collections in Radicale's storage, made on first
login like the default calendar (and on the first principal lookup for accounts
older than scheduling). Clients see them as ``schedule-inbox``/``schedule-outbox``
(plugins/scheduling/properties.py rewrites their resource type), never as calendars.
The inbox keeps the iTIP messages delivered to the account until a client
deletes them; the outbox holds nothing and only answers free-busy POSTs.
Invitations go to the default calendar, ``calendar``; when its owner deleted
it, to their first other calendar for events, and when there is none, to
``calendar`` made anew; ``schedule-default-calendar-URL`` names that calendar.
"""

from __future__ import annotations

import uuid

from davserver.collections import SCHEDULE_MAILBOXES, Collections

INBOX, OUTBOX = sorted(SCHEDULE_MAILBOXES)
DEFAULT_CALENDAR = "calendar"
_COMPONENTS = "VEVENT,VTODO,VJOURNAL,VFREEBUSY"
_NAMES = {INBOX: "Scheduling inbox", OUTBOX: "Scheduling outbox"}


def schedule_mailboxes() -> dict[str, dict[str, str]]:
    """Radicale ``predefined_collections`` entries for the two mailboxes."""
    return {
        name: {
            "tag": "VCALENDAR",
            "D:displayname": display,
            "C:supported-calendar-component-set": _COMPONENTS,
        }
        for name, display in _NAMES.items()
    }


def inbox_path(user: str) -> str:
    return f"/{user}/{INBOX}/"


def outbox_path(user: str) -> str:
    return f"/{user}/{OUTBOX}/"


def default_calendar_path(user: str) -> str:
    return f"/{user}/{DEFAULT_CALENDAR}/"


def default_calendar(collections: Collections, user: str) -> str:
    """The path of the calendar that takes ``user``'s invitations (see above); the delivery
    makes it when it does not exist."""
    path = default_calendar_path(user)
    if collections.folder(path).is_dir():
        return path
    others = collections.calendars_of(user)
    return others[0] if others else path


def mailbox_of(path: str) -> tuple[str, str] | None:
    """(owner, INBOX or OUTBOX) when ``path`` is a mailbox or inside one."""
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[1] in SCHEDULE_MAILBOXES:
        return parts[0], parts[1]
    return None


def new_message_href() -> str:
    return f"{uuid.uuid4().hex}.ics"


def provide_mailboxes(collections: Collections, user: str) -> None:
    """Create the mailboxes of an account that logged in before scheduling existed (never
    for one that has not logged in: Radicale makes all of a new account's collections)."""
    if not collections.folder(f"/{user}/").is_dir():
        return
    for name, props in schedule_mailboxes().items():
        collections.provide(f"/{user}/{name}/", props)
