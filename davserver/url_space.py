"""The top level of Murmeli's URL space: the names it serves itself, which no user may take.

A user's calendars live under ``/NAME/``; a user called ``api`` would have them
hidden behind Murmeli's own ``/api/``. Every mount of the application must start
with one of these names (``Application`` refuses any other), so this list cannot
fall behind the mounts. Names beginning with ``.`` (``.well-known``, ``.web``,
``.token``, ``.sharing``: Radicale's and Murmeli's) are reserved as a whole.
Case is ignored, so that no name differs from a reserved one only by its case.
"""

from __future__ import annotations

RESERVED_NAMES = frozenset(
    {
        "api",  # the HTTP API and the public pages (davserver/api.py)
        "app",  # the web app
        "autodiscover",  # mail client set-up
        "mail",  # webmail
        "healthz",  # health check for load balancers
    }
)


def is_reserved(name: str) -> bool:
    return name.startswith(".") or name.lower() in RESERVED_NAMES


def top_level_name(prefix: str) -> str:
    """The first segment of a path prefix: ``/api/`` gives ``api``."""
    return prefix.strip("/").split("/", 1)[0]
