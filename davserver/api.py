"""Murmeli's JSON routes under ``/api/``: authentication, routing and error translation.

Routes are plain functions ``(request) -> Response``; each feature registers
its own. Bad input raises ``AccountError`` (or ``HttpError``) and becomes a 4xx
whose body says why; anything else is logged and answered 500 with no detail.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import AccountError, Directory, User
from davserver.logs import shortened

logger = logging.getLogger("murmeli.api")
MAX_JSON_BODY = 1024 * 1024
# One realm for the DAV tree and the API, so clients file one password for both.
REALM = "Murmeli"
BASIC_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


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
    500: "Internal Server Error",
}


def text_field(body: dict, name: str, required: bool = True) -> Any:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise HttpError(400, f"field {name!r} must be a non-empty string")
    return value


class Api:
    def __init__(self, authenticator: Authenticator, directory: Directory) -> None:
        self._authenticator = authenticator
        self._directory = directory
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []

    def route(self, method: str, pattern: str, handler: Handler, public: bool = False) -> None:
        """``pattern`` like ``/api/shares/{id}``; each ``{name}`` matches one path segment.

        A ``public`` route is answered without login (links in emails); it must
        check its own secret from the path.
        """
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler, public))

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
        for route_method, regex, handler, public in self._routes:
            match = regex.match(path)
            if match is None:
                continue
            allowed = True
            if route_method != method:
                continue
            user = None if public else self._user(environ)
            if user is None and not public:
                return self._challenge()
            params = match.groupdict()
            if "token" in params:
                # The logs (the access log reads PATH_INFO last) keep no link secret.
                start, end = match.span("token")
                path = path[:start] + shortened(params["token"]) + path[end:]
                environ["PATH_INFO"] = path
            return self._call(handler, Request(environ, method, path, user, params))
        if self._user(environ) is None:
            return self._challenge()
        if allowed:
            return error_response(405, f"{method} is not allowed on {path}")
        return error_response(404, f"no such route: {path}")

    def _challenge(self) -> Response:
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

    def _user(self, environ: dict) -> User | None:
        credentials = basic_credentials(environ)
        if credentials is None:
            return None
        name = self._authenticator.user_for(*credentials)
        return self._directory.find(name) if name else None


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
