"""HTTP glue of password-protected messages: the public secure page and the sender's API.

The page (``/api/secure/<id>.<secret>``, no login: the link is the credential)
asks for the password on GET, so link previews and mail scanners that fetch
it learn nothing and use up no attempt; POST with the right password shows
the message and opens a reading session (a cookie scoped to that link) with
which its attachments download. Every refusal is a page that says why.

The sender's API lists the messages sent from their account's address, and
revokes or unlocks one of them.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, quote

from crypto import secure_page
from crypto.message_view import attachment, view
from crypto.reading_sessions import LIFETIME
from crypto.secure_delivery import PAGE_PATH, Gone, Locked, Refused, SecureDelivery, Unknown
from davserver.api import Api, HttpError, Request, Response, json_response
from davserver.services import Services

COOKIE = "murmeli_reading"
MAX_FORM = 8192


def register(api: Api, services: Services) -> None:
    delivery = services.secure_delivery
    days = services.settings.relay.secure_message_days

    def refusals(handler):
        """Unknown, expired, revoked and locked messages answer the same way on every route."""

        def answer(request: Request) -> Response:
            try:
                return handler(request)
            except Unknown:
                return secure_page.unknown()
            except Gone as error:
                return secure_page.gone(error.reason, days)
            except Locked:
                return secure_page.locked()

        return answer

    def ask(request: Request) -> Response:
        message = delivery.find(request.params["token"])
        if message.failures >= delivery.attempts:
            raise Locked()
        return secure_page.form(message.sender, delivery.expires(message))

    def show(request: Request) -> Response:
        token = request.params["token"]
        password = _form_field(request, "password")
        if password is None:
            return secure_page.bad_request("the form has no password field")
        try:
            opened = delivery.open(token, password)
        except Refused as refused:
            message = delivery.find(token)
            left = refused.attempts_left
            error = f"Wrong password: {left} attempt{'s' if left != 1 else ''} left."
            return secure_page.form(message.sender, delivery.expires(message), error, 403)
        response = secure_page.message(view(opened.raw), token, delivery.expires(opened.message))
        response.headers["Set-Cookie"] = _cookie(request, token, opened.session)
        return response

    def download(request: Request) -> Response:
        token = request.params["token"]
        raw = delivery.read(token, _cookie_value(request))
        if raw is None:
            return secure_page.session_ended(token)
        index = request.params["index"]
        found = attachment(raw, int(index)) if index.isdigit() else None
        if found is None:
            return secure_page.page(404, "No such attachment", "<p>No such attachment.</p>")
        filename, data = found
        headers = dict(secure_page.HEADERS)
        headers["Content-Disposition"] = _disposition(filename)
        return Response(200, data, "application/octet-stream", headers)

    api.route("GET", PAGE_PATH + "{token}", refusals(ask), public=True)
    api.route("POST", PAGE_PATH + "{token}", refusals(show), public=True)
    api.route("GET", PAGE_PATH + "{token}/attachments/{index}", refusals(download), public=True)
    _register_sender_api(api, delivery)


def _register_sender_api(api: Api, delivery: SecureDelivery) -> None:
    def own(request: Request) -> str:
        """The message id of the path, if the logged-in user sent it."""
        assert request.user is not None
        message_id = request.params["id"]
        if not request.user.email or delivery.sent_by(message_id, request.user.email) is None:
            raise HttpError(404, f"no secure message {message_id} sent by you")
        return message_id

    def listing(request: Request) -> Response:
        assert request.user is not None
        email = request.user.email
        return json_response({"messages": delivery.of_sender(email) if email else []})

    def revoke(request: Request) -> Response:
        delivery.revoke(own(request))
        return Response(204, b"")

    def unlock(request: Request) -> Response:
        delivery.unlock(own(request))
        return Response(204, b"")

    api.route("GET", "/api/secure-messages", listing)
    api.route("DELETE", "/api/secure-messages/{id}", revoke)
    api.route("POST", "/api/secure-messages/{id}/unlock", unlock)


def _form_field(request: Request, name: str) -> str | None:
    length = int(request.environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_FORM:
        raise HttpError(413, f"form larger than {MAX_FORM} bytes")
    body = request.environ["wsgi.input"].read(length) if length else b""
    values = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return values.get(name, [None])[0]


def _cookie(request: Request, token: str, session: str) -> str:
    path = request.environ.get("SCRIPT_NAME", "") + PAGE_PATH + token
    secure = "; Secure" if request.environ.get("wsgi.url_scheme") == "https" else ""
    return f"{COOKIE}={session}; Path={path}; Max-Age={LIFETIME}; HttpOnly; SameSite=Strict{secure}"


def _cookie_value(request: Request) -> str:
    cookie = SimpleCookie()
    try:
        cookie.load(request.environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return ""
    morsel = cookie.get(COOKIE)
    return morsel.value if morsel else ""


def _disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback, and the real name in RFC 5987 form."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
