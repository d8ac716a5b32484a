"""The WSGI layer around Radicale that adds CalDAV scheduling to it.

Radicale keeps serving the DAV tree; this layer only steps in for:

* every answer: ``calendar-auto-schedule`` joins the DAV header (RFC 6638 §2);
* PROPFIND of the account's principal or mailboxes: the scheduling properties
  are filled in (properties.py);
* POST to the account's outbox: free-busy (outbox_freebusy.py); anyone else's
  outbox is 403, and so is an ORGANIZER that is not the account;
* PUT and DELETE of an item in the account's own calendars: a plan is made from
  the old and new text (the body may get SCHEDULE-STATUS and SEQUENCE), Radicale
  stores it, and only if it answered 2xx is the plan carried out, after
  Radicale released its lock. A changed body means the ETag is left out of the
  answer (RFC 4791 §5.3.4), so the client fetches the stored copy. A PUT of anything
  else (no ORGANIZER) without If-Schedule-Tag-Match goes straight to Radicale;
* Schedule-Tags (RFC 6638 §3.2.10, schedule_tags.py): the ``Schedule-Tag`` header
  on GET, HEAD and PUT of a scheduling object resource, the ``schedule-tag``
  property in PROPFIND and REPORT answers that ask for it, and
  ``If-Schedule-Tag-Match`` on PUT and DELETE (412 when it names another tag);
* writes into the mailboxes themselves: 403 (the server fills the inbox; the
  outbox takes only POST).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable

from icalendar import Calendar

from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import Directory, User
from davserver.api import BASIC_CHALLENGE, basic_credentials, checked_login
from davserver.application import plain_text
from davserver.collections import Collections
from plugins.availability.lookup import Availability
from plugins.scheduling.agent import SchedulingAgent
from plugins.scheduling.implicit import Plan
from plugins.scheduling.itip import address, attendees_of
from plugins.scheduling.mailboxes import (
    OUTBOX,
    default_calendar,
    mailbox_of,
    provide_mailboxes,
)
from plugins.scheduling.outbox_freebusy import FreeBusyRefused, answer, parse_request
from plugins.scheduling.properties import (
    calendar_user_addresses,
    complete_multistatus,
    mailbox_resource_types,
    provided_properties,
    with_schedule_tags,
)
from plugins.scheduling.replies import is_organiser
from plugins.scheduling.schedule_tags import ScheduleTags, matches, quoted

logger = logging.getLogger("murmeli.scheduling")
WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
AUTO_SCHEDULE = "calendar-auto-schedule"
_SCHEDULE_TAG = b"schedule-tag"
_MAILBOX_WRITES = frozenset({"PUT", "MKCOL", "MKCALENDAR", "COPY", "MOVE", "POST"})


class SchedulingLayer:
    def __init__(
        self,
        dav: WsgiApp,
        authenticator: Authenticator,
        directory: Directory,
        collections: Collections,
        availability: Availability,
        agent: SchedulingAgent,
        tags: ScheduleTags,
        zone,
        max_attendees: int,
        max_days: int,
        max_invited: int,
    ) -> None:
        """``max_attendees`` bounds a free/busy request; ``max_invited`` the attendees of an
        event the user organises (each outside one gets mail)."""
        self._dav = dav
        self._authenticator = authenticator
        self._directory = directory
        self._collections = collections
        self._availability = availability
        self._agent = agent
        self._tags = tags
        self._zone = zone
        self._max_attendees = max_attendees
        self._max_days = max_days
        self._max_invited = max_invited

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")  # decoded once, at entry
        mailbox = mailbox_of(path)
        if mailbox is not None:
            owner, name = mailbox
            if method == "POST" and name == OUTBOX and path.strip("/").count("/") == 1:
                return self._outbox_post(environ, start_response, owner)
            if method in _MAILBOX_WRITES or (method == "DELETE" and path.count("/") <= 3):
                return plain_text(start_response, "403 Forbidden", f"{method} is not allowed here")
        if method in ("PUT", "DELETE") and _own_item(path):
            return self._scheduled(environ, start_response, method, path)
        if method == "PROPFIND" and _principal_or_mailbox(path):
            return self._propfind(environ, start_response, path)
        if method in ("GET", "HEAD") and _own_item(path):
            return self._read(environ, start_response, path)
        if method in ("PROPFIND", "REPORT") and _SCHEDULE_TAG in _body(environ):
            return self._with_schedule_tags(environ, start_response)
        return self._dav_call(environ, start_response)

    def _dav_call(
        self, environ: dict, start_response: Callable, rewrite: Callable | None = None
    ) -> Iterable[bytes]:
        captured: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = self._dav(environ, capture)
        status, headers = captured["status"], _with_auto_schedule(captured["headers"])
        if rewrite is not None:
            return rewrite(status, headers, body)
        start_response(status, headers)
        return body

    def _user(self, environ: dict) -> User | None:
        credentials = basic_credentials(environ)
        name = self._authenticator.user_for(*credentials) if credentials else ""
        return self._directory.find(name) if name else None

    def _outbox_post(self, environ: dict, start_response: Callable, owner: str):
        # Answered here, not by Radicale: the login gets the lock-out and delay itself.
        name = checked_login(self._authenticator, environ).user
        user = self._directory.find(name) if name else None
        if user is None:
            return plain_text(
                start_response,
                "401 Unauthorized",
                "authentication required",
                [("WWW-Authenticate", BASIC_CHALLENGE)],
            )
        if user.name != owner:
            return plain_text(start_response, "403 Forbidden", "this is not your schedule outbox")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            request = parse_request(body, self._max_attendees, self._max_days)
            if address(request.organiser) not in {
                address(a) for a in calendar_user_addresses(user)
            }:
                raise FreeBusyRefused(403, "ORGANIZER must be the authenticated user")
        except FreeBusyRefused as refused:
            status = "403 Forbidden" if refused.status == 403 else "400 Bad Request"
            return plain_text(start_response, status, str(refused))
        data = answer(self._availability, user, request, self._zone)
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/xml; charset=utf-8"),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [data]

    def _scheduled(self, environ: dict, start_response: Callable, method: str, path: str):
        condition = environ.get("HTTP_IF_SCHEDULE_TAG_MATCH")
        new = None
        if method == "PUT":
            try:
                new = self._agent.scheduling_object(_body(environ))
            except Exception:
                logger.exception(
                    "scheduling: could not read %s %s; stored unscheduled", method, path
                )
            if new is None and condition is None:
                return self._dav_call(environ, start_response)  # nothing to schedule or check
        owner = path.strip("/").split("/")[0]
        user = self._user(environ)
        if user is None or user.name != owner:
            return self._dav_call(environ, start_response)
        organised = new is not None and is_organiser(user, new)
        if organised and len(attendees_of(new)) > self._max_invited:
            return plain_text(
                start_response,
                "403 Forbidden",
                f"an event may invite at most {self._max_invited} attendees "
                "(CALDAV:max-attendees-per-instance; scheduling.max_attendees)",
            )
        old_text = self._agent.stored(path)
        # Read after the item: a delivery renews it before writing. A PUT needs it only for
        # its condition; a DELETE also to forget it.
        tag = self._tags.of(path) if condition is not None or method == "DELETE" else None
        if condition is not None and not matches(condition, tag):
            return plain_text(
                start_response, "412 Precondition Failed", "the Schedule-Tag does not match"
            )
        plan = self._plan(user, method, path, old_text, new)
        if plan.body is not None:
            _set_body(environ, plan.body)
        new_tag = self._agent.schedule_tag(plan)

        def finish(status: str, headers: list, response: Iterable[bytes]):
            if status[:1] == "2" and method == "DELETE" and tag is not None:
                self._tags.forget(path)
            if status[:1] == "2" and new_tag is not None:
                headers = [*headers, ("Schedule-Tag", quoted(new_tag))]
            if status[:1] == "2" and not plan.empty:
                if plan.body is not None:
                    headers = [(k, v) for k, v in headers if k.lower() != "etag"]
                self._agent.carry_out(plan)
            start_response(status, headers)
            return response

        return self._dav_call(environ, start_response, finish)

    def _plan(
        self, user: User, method: str, path: str, old_text: str | None, new: Calendar | None
    ) -> Plan:
        """What the PUT of ``new`` or the DELETE does; nothing (Radicale's change alone) when
        planning fails."""
        try:
            if new is not None:
                return self._agent.plan_put(user, path, old_text, new)
            if method == "DELETE":
                return self._agent.plan_delete(user, old_text)
        except Exception:
            logger.exception("scheduling: could not plan %s %s; done unscheduled", method, path)
        return Plan()

    def _read(self, environ: dict, start_response: Callable, path: str):
        """GET or HEAD: Radicale's answer, with the item's Schedule-Tag if it has one."""

        def tagged(status: str, headers: list, response: Iterable[bytes]):
            tag = self._tags.of(path) if status[:1] == "2" else None
            if tag is not None:
                headers = [*headers, ("Schedule-Tag", quoted(tag))]
            start_response(status, headers)
            return response

        return self._dav_call(environ, start_response, tagged)

    def _with_schedule_tags(self, environ: dict, start_response: Callable):
        """PROPFIND or REPORT asking for ``schedule-tag``: Radicale's multistatus, with the
        property answered for the scheduling object resources in it."""
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # rewritten: not gzipped
        prefix = environ.get("SCRIPT_NAME", "").rstrip("/")

        def complete(status: str, headers: list, response: Iterable[bytes]):
            if not status.startswith("207"):
                start_response(status, headers)
                return response
            data = with_schedule_tags(b"".join(response), prefix, self._tags.of_many)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*headers, ("Content-Length", str(len(data)))])
            return [data]

        return self._dav_call(environ, start_response, complete)

    def _propfind(self, environ: dict, start_response: Callable, path: str):
        owner = path.strip("/").split("/")[0]
        user = self._user(environ)
        if user is None or user.name != owner:
            return self._dav_call(environ, start_response)
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # a small answer, rewritten: not gzipped
        prefix = environ.get("SCRIPT_NAME", "").rstrip("/")

        def complete(status: str, headers: list, response: Iterable[bytes]):
            # After Radicale: it makes a new account's collections on first login only
            # when the principal does not exist yet.
            provide_mailboxes(self._collections, user.name)
            if not status.startswith("207"):
                start_response(status, headers)
                return response
            data = complete_multistatus(
                b"".join(response),
                prefix,
                provided_properties(
                    user, prefix, default_calendar(self._collections, user.name)
                ),
                mailbox_resource_types(user),
            )
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*headers, ("Content-Length", str(len(data)))])
            return [data]

        return self._dav_call(environ, start_response, complete)


def _body(environ: dict) -> bytes:
    """The request body, read once and put back for Radicale."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    _set_body(environ, body)
    return body


def _set_body(environ: dict, body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _with_auto_schedule(headers: list) -> list:
    return [
        (name, f"{value}, {AUTO_SCHEDULE}" if name.lower() == "dav" else value)
        for name, value in headers
    ]


def _own_item(path: str) -> bool:
    """``/user/collection/item``: an item of one of the user's own collections (shared ones,
    ``owner~collection``, are scheduled by their owner's clients)."""
    parts = path.strip("/").split("/")
    return len(parts) == 3 and "~" not in parts[1] and not path.endswith("/")


def _principal_or_mailbox(path: str) -> bool:
    parts = path.strip("/").split("/")
    return bool(parts[0]) and (len(parts) == 1 or (len(parts) == 2 and mailbox_of(path)))
