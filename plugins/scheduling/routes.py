"""Answer links of invitation emails: public pages, no login, the token is the credential.

``GET`` only shows the event and a button: mail scanners and link previews
fetch links and must not answer for anyone. ``POST`` answers: the organiser's
copy gets the attendee's PARTSTAT, their inbox the REPLY, their email a note.
A link is refused when unknown (404), expired, already used, or when the
invitation has since been updated or withdrawn (410: the newest email has
fresh links).
"""

from __future__ import annotations

from html import escape

from davserver.api import Api, Request, Response
from davserver.link_page import link_page
from davserver.services import Services
from plugins.scheduling import imip, itip
from plugins.scheduling.links import ANSWERS, AnswerLink
from plugins.scheduling.service import ANSWER_PREFIX

_VERBS = {"accept": "Accept", "decline": "Decline", "tentative": "Accept tentatively"}


def register(api: Api, services: Services) -> None:
    if not services.settings.scheduling.enabled:
        return
    scheduling = services.scheduling

    def current(request: Request):
        """(link, organiser copy, master) when the link may answer, else the refusal page."""
        answer = request.params["answer"]
        link = scheduling.links.find(request.params["token"])
        if answer not in ANSWERS or link is None:
            return link_page(404, "Link not valid", "<p>This link is unknown.</p>")
        if link.expired:
            return link_page(
                410, "Link expired", "<p>Please ask the organiser for a new invitation.</p>"
            )
        if link.used:
            return link_page(410, "Already answered", "<p>This link was already used.</p>")
        calendar = scheduling.replies.organiser_copy(link.organiser, link.uid)
        master = itip.by_instance(calendar).get("") if calendar is not None else None
        if master is None or itip.partstat(master, link.attendee) is None:
            return link_page(410, "Invitation withdrawn", "<p>You are no longer invited.</p>")
        if itip.sequence(master) != link.sequence:
            return link_page(
                410, "Invitation updated", "<p>Please use the links in the newest invitation.</p>"
            )
        return link, calendar, master

    def confirm(request: Request) -> Response:
        found = current(request)
        if isinstance(found, Response):
            return found
        _, _, master = found
        verb = _VERBS[request.params["answer"]]
        summary = str(master.get("SUMMARY", "")) or "(untitled event)"
        return link_page(
            200,
            f"{verb}: {summary}",
            f"<p>{escape(imip.when(master, scheduling.zone))}</p>"
            f'<form method="post"><button type="submit">{escape(verb)}</button></form>',
        )

    def answer(request: Request) -> Response:
        found = current(request)
        if isinstance(found, Response):
            return found
        link, calendar, master = found
        if not scheduling.links.use(link):
            return link_page(410, "Already answered", "<p>This link was already used.</p>")
        partstat = ANSWERS[request.params["answer"]]
        recorded = _record(services, link, itip.answer_for(calendar, link.attendee, partstat))
        if not recorded:
            return link_page(410, "Invitation withdrawn", "<p>The event no longer exists.</p>")
        summary = str(master.get("SUMMARY", "")) or "(untitled event)"
        return link_page(200, "Thank you", f"<p>Your answer to {escape(summary)} was sent.</p>")

    pattern = ANSWER_PREFIX + "{token}/{answer}"
    api.route("GET", pattern, confirm, public=True)
    api.route("POST", pattern, answer, public=True)


def _record(services: Services, link: AnswerLink, reply) -> bool:
    organiser = services.directory.find(link.organiser)
    return organiser is not None and services.scheduling.replies.apply(organiser, reply)
