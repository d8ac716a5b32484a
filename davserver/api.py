"""Murmeli's JSON routes under ``/api/``: authentication, routing and error translation.

Routes are plain functions ``(request) -> Response``; each feature registers
its own. Bad input raises ``AccountError`` (or ``HttpError``) and becomes a 4xx
whose body says why; anything else is logged and answered 500 with no detail.
A request that changes state and may come from another site is refused
(``davserver.csrf``). A failed login is logged and answered after the same
delay as in the DAV tree, and counts towards the lock-out.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from davserver import csrf
from davserver.accounts.authenticator import ACCOUNT_PASSWORD, Authenticator, Login
from davserver.accounts.directory import AccountError, Directory, User
from davserver.logs import shortened

logger = logging.getLogger("murmeli.api")
MAX_JSON_BODY = 1024 * 1024
# One realm for the DAV tree and the API, so clients file one password for both.
REALM = "Murmeli"
BASIC_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
# Seconds a failed login waits (times 0.5 to 1.5, as Radicale's ``auth.delay`` does).
FAILED_LOGIN_DELAY = 1.0
LOCKED_OUT = (
    "too many failed logins for this account or from this address; try again later "
    "(an administrator can lift the lock-out with `murmeli user unlock`)"
)


class HttpError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(value: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(value, indent=1).encode() + b"\n")


def error_response(status: int, reason: str) -> Response:
    return json_response({"error": reason}, status)


@dataclass
class Request:
    environ: dict
    method: str
    path: str
    user: User | None  # None only on public routes
    params: dict[str, str]
    credential: str = ""  # which password logged in: ACCOUNT_PASSWORD or APP_PASSWORD

    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.environ.get("QUERY_STRING", "")))

    def json(self) -> dict:
        length = int(self.environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_JSON_BODY:
            raise HttpError(413, f"JSON body larger than {MAX_JSON_BODY} bytes")
        raw = self.environ["wsgi.input"].read(length) if length else b""
        try:
            value = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as error:
            raise HttpError(400, f"body is not valid JSON: {error}") from None
        except RecursionError:
            raise HttpError(400, "body is not valid JSON: nested too deep") from None
        if not isinstance(value, dict):
            raise HttpError(400, "body must be a JSON object")
        return value


Handler = Callable[[Request], Response]
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def text_field(body: dict, name: str, required: bool = True) -> Any:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"field {name!r} must be a non-empty string")
    return value


def require_account_password(request: Request) -> None:
    """Refuse an app-password login: a device's password must not mint more passwords,
    nor reach the account's keys."""
    if request.credential != ACCOUNT_PASSWORD:
        raise HttpError(403, "this needs the account password, not an app password")


@dataclass(frozen=True)
class _Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler
    public: bool
    accepts: frozenset[str] | None


class Api:
    def __init__(
        self, authenticator: Authenticator, directory: Directory, base_url: str | None = None
    ) -> None:
        """``base_url``: the server's public URL, whose origin may post to the API."""
        self._authenticator = authenticator
        self._directory = directory
        self._base_url = base_url
        self._routes: list[_Route] = []

    def route(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        public: bool = False,
        accepts: frozenset[str] = csrf.JSON,
    ) -> None:
        """``pattern`` like ``/api/shares/{id}``; each ``{name}`` matches one path segment.

        A ``public`` route is answered without login (links in emails); it must
        check its own secret from the path. ``accepts``: the body media types an
        unsafe method reads (JSON unless the route takes a file).
        """
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append(
            _Route(method, re.compile(f"^{regex}$"), handler, public, None if public else accepts)
        )

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        response = self._respond(environ)
        headers = [("Content-Type", response.content_type), ("Cache-Control", "no-store")]
        headers += list(response.headers.items())
        headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {_STATUS_TEXT.get(response.status, '')}", headers)
        return [response.body]

    def _respond(self, environ: dict) -> Response:
        path = environ.get("PATH_INFO", "")
        method = environ["REQUEST_METHOD"]
        allowed = False
        for route in self._routes:
            match = route.regex.match(path)
            if match is None:
                continue
            allowed = True
            if route.method != method:
                continue
            refusal = csrf.refusal(environ, route.accepts, self._base_url)
            if refusal:
                return error_response(*refusal)
            params = match.groupdict()
            if "token" in params:
                # The logs (the access log reads PATH_INFO last) keep no link secret.
                start, end = match.span("token")
                path = path[:start] + shortened(params["token"]) + path[end:]
                environ["PATH_INFO"] = path
            if route.public:
                return self._call(route.handler, Request(environ, method, path, None, params))
            login, user = self._login(environ)
            if user is None:
                return self._refused(login)
            return self._call(
                route.handler, Request(environ, method, path, user, params, login.kind)
            )
        login, user = self._login(environ)
        if user is None:
            return self._refused(login)
        if allowed:
            return error_response(405, f"{method} is not allowed on {path}")
        return error_response(404, f"no such route: {path}")

    @staticmethod
    def _refused(login: Login) -> Response:
        if login.locked:
            return error_response(429, LOCKED_OUT)
        response = error_response(401, "authentication required")
        response.headers["WWW-Authenticate"] = BASIC_CHALLENGE
        return response

    @staticmethod
    def _call(handler: Handler, request: Request) -> Response:
        try:
            return handler(request)
        except HttpError as error:
            return error_response(error.status, error.reason)
        except AccountError as error:
            return error_response(400, str(error))
        except Exception:
            logger.exception("API route %s %s failed", request.method, request.path)
            return error_response(500, "internal error; see the server log")

    def _login(self, environ: dict) -> tuple[Login, User | None]:
        login = checked_login(self._authenticator, environ)
        return login, self._directory.find(login.user) if login.user else None


def checked_login(authenticator: Authenticator, environ: dict) -> Login:
    """The login of the request's Basic credentials, for routes answered beside Radicale's
    auth: like it, a failed login is logged once (never the password) and answered after
    ``FAILED_LOGIN_DELAY``, and counts towards the lock-out."""
    credentials = basic_credentials(environ)
    if credentials is None:
        return Login("")
    address = environ.get("REMOTE_ADDR", "")
    login = authenticator.login(*credentials, address)
    if not login.user:
        delay = FAILED_LOGIN_DELAY * (0.5 + random.random())
        logger.warning(
            "Failed login attempt from %s: %r (%s%s; answered after %.1f s)",
            address,
            credentials[0][:64],
            environ.get("PATH_INFO", "")[:100],
            ", locked out" if login.locked else "",
            delay,
        )
        time.sleep(delay)
    return login


def basic_credentials(environ: dict) -> tuple[str, str] | None:
    """Login and password of HTTP Basic authentication, or None."""
    scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
        return None
    return login, password
