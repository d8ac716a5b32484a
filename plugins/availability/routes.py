"""``POST /api/availability``: JSON in, JSON out, or VFREEBUSY with ``Accept: text/calendar``."""

from __future__ import annotations

from davserver.api import Api, HttpError, Request, Response, json_response
from davserver.services import Services
from plugins.availability.query import build_query


def register(api: Api, services: Services) -> None:
    settings = services.settings.availability

    def availability(request: Request) -> Response:
        body = request.json()
        attendees = body.get("attendees")
        if not isinstance(attendees, list) or not all(isinstance(a, str) for a in attendees):
            raise HttpError(400, "field 'attendees' must be a list of user names or emails")
        for name in ("start", "duration"):
            if name not in body:
                raise HttpError(400, f"field {name!r} is required")
        alternatives = body.get("alternatives", 3)
        if not isinstance(alternatives, int) or isinstance(alternatives, bool):
            raise HttpError(400, "field 'alternatives' must be a number")
        query = build_query(
            attendees,
            str(body["start"]),
            body["duration"],
            body.get("window", "7d"),
            body.get("timezone"),
            body.get("working_hours"),
            alternatives,
            settings=settings,
        )
        answer = services.availability.lookup(request.user, query)
        if "text/calendar" in request.environ.get("HTTP_ACCEPT", ""):
            return Response(200, answer.as_icalendar(), "text/calendar; charset=utf-8")
        return json_response(answer.as_json())

    api.route("POST", "/api/availability", availability)
