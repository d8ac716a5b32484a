"""Radicale's configuration, derived from Murmeli's settings so operators edit one file."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from radicale import config

from config.settings import Settings
from davserver.api import FAILED_LOGIN_DELAY, REALM
from plugins.scheduling.mailboxes import schedule_mailboxes

# Radicale creates these for a user on first login, as hosted suites do.
_CALENDAR_COMPONENTS = "VEVENT,VTODO,VJOURNAL"


def default_collections(settings: Settings) -> dict[str, dict[str, str]]:
    return {
        "calendar": {
            "tag": "VCALENDAR",
            "D:displayname": settings.accounts.calendar_name,
            "C:supported-calendar-component-set": _CALENDAR_COMPONENTS,
        },
        "contacts": {"tag": "VADDRESSBOOK", "D:displayname": settings.accounts.addressbook_name},
        **(schedule_mailboxes() if settings.scheduling.enabled else {}),
    }


def radicale_configuration(
    settings: Settings,
    auth: Callable[[config.Configuration], Any] | None = None,
    sharing: Callable[[config.Configuration], Any] | None = None,
) -> config.Configuration:
    """``auth`` and ``sharing`` are plugin factories; without them no one can log in."""
    server = settings.server
    configuration = config.load()
    configuration.update(
        {
            "server": {
                "max_content_length": str(server.max_body_size),
                "max_resource_size": str(int(server.max_body_size * 0.8)),
            },
            "encoding": {"request": "utf-8", "stock": "utf-8"},
            "auth": {"type": auth or "denyall", "delay": str(FAILED_LOGIN_DELAY), "realm": REALM},
            "rights": {"type": "owner_only"},
            "storage": {
                "type": "multifilesystem",
                "filesystem_folder": str((server.data / "collections").resolve()),
                "predefined_collections": json.dumps(default_collections(settings)),
            },
            "sharing": {
                "type": sharing or "none",
                "collection_by_map": str(sharing is not None),
                "collection_by_token": "False",
                "permit_create_map": "False",
                "permit_create_token": "False",
            },
            "web": {"type": "internal"},
            "logging": {"level": server.log_level, "mask_passwords": "True"},
        },
        "murmeli settings",
    )
    return configuration
