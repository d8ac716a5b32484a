"""The "stop reminders" link: a public page, answered without login, that stops one alarm.

``GET`` only shows what would be stopped, with a button: mail scanners and
link previews fetch links, and must not stop anything. ``POST`` stops it. The
token in the path is the only credential; it stops one alarm of one
occurrence and grants nothing else.
"""

from __future__ import annotations

from html import escape

from davserver.api import Api, Request, Response
from davserver.link_page import link_page
from davserver.services import Services
from plugins.reminders.store import ReminderStore

STOP_PREFIX = "/api/reminders/stop/"


def stop_path(token: str) -> str:
    return STOP_PREFIX + token


def _invalid() -> Response:
    return link_page(404, "Link not valid", "<p>This stop link is unknown or has expired.</p>")


def _stopped_alarm(summary: str) -> str:
    return (
        "<p>No more reminders will be sent for this alarm of "
        f"<strong>{escape(summary or '(untitled event)')}</strong>.</p>"
    )


def register(api: Api, services: Services) -> None:
    store = ReminderStore(services.database)

    def confirm(request: Request) -> Response:
        summary = store.stop_summary(request.params["token"])
        if summary is None:
            return _invalid()
        button = '<form method="post"><button type="submit">Stop reminders</button></form>'
        return link_page(200, "Stop reminders?", _stopped_alarm(summary) + button)

    def stop(request: Request) -> Response:
        summary = store.stop(request.params["token"])
        if summary is None:
            return _invalid()
        return link_page(200, "Reminders stopped", _stopped_alarm(summary))

    api.route("GET", STOP_PREFIX + "{token}", confirm, public=True)
    api.route("POST", STOP_PREFIX + "{token}", stop, public=True)
