"""The WSGI application: Radicale's DAV tree with Murmeli's own mounts (``/api/``…) beside it.

Around both: the request's names decoded and its headers and body checked
(davserver/request_entry.py), one access-log line per request, the body-size
limit (413 with a reason before anything is read; larger for the routes that
take uploads), XML bodies checked before Radicale parses them
(davserver/xml_bodies.py) and PROPPATCH kept within the properties a collection
may hold, and a reason in the body of Radicale's bare "Bad Request" answers,
taken from what Radicale logged for that request. Refusals under ``/api/`` are
JSON, like every answer there. The browser security headers go on every answer
(``davserver.security_headers``).
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from radicale import Application as RadicaleApplication

from davserver.api import basic_credentials, error_response
from davserver.property_limits import PropertyLimits
from davserver.request_entry import Refused, check_headers, decode_names, read_body
from davserver.security_headers import secured
from davserver.url_space import is_reserved, top_level_name
from davserver.xml_bodies import check_xml

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
access_log = logging.getLogger("murmeli.access")
_XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR"})
_CREATING = frozenset({"MKCOL", "MKCALENDAR"})
# Radicale's log lines say where they come from; the client only needs the cause.
_LOG_PREFIX = re.compile(r"^Bad \w+ request on '[^']*'(?: \([^)]*\))?: ")
_radicale_logger = logging.getLogger("radicale")


class _LastWarning(logging.Filter):
    """Keeps, per thread, the last warning Radicale logged: the reason a request was refused."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            self.local.message = record.getMessage()
        return True

    def take(self) -> str | None:
        message = getattr(self.local, "message", None)
        self.local.message = None
        return message


class Application:
    def __init__(
        self,
        dav: RadicaleApplication,
        mounts: dict[str, WsgiApp],
        max_body_size: int,
        log_requests: bool,
        property_limits: PropertyLimits,
        upload_limits: Mapping[str, int] | None = None,
    ) -> None:
        """``mounts`` maps a path prefix (``/api/``) to the WSGI application serving it; each
        prefix must start with a reserved name (``davserver/url_space.py``), else a user of
        that name would lose their DAV home to it. ``upload_limits`` maps a path prefix to
        the body limit there, instead of ``max_body_size``."""
        for prefix in mounts:
            if not is_reserved(top_level_name(prefix)):
                raise ValueError(f"mount {prefix} is not reserved in davserver/url_space.py")
        self._dav = dav
        self._mounts = tuple(mounts.items())
        self._max_body_size = max_body_size
        self._upload_limits = tuple((upload_limits or {}).items())
        self._property_limits = property_limits
        self._log_requests = log_requests
        self._last_warning = _LastWarning()
        _radicale_logger.addFilter(self._last_warning)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, str] = {}

        def recording_start_response(status: str, headers: list, exc_info=None):
            seen["status"] = status
            return start_response(status, secured(headers), exc_info)

        body = self._dispatch(environ, recording_start_response)
        if self._log_requests:
            access_log.info(
                '%s %s "%s %s" %s %.1fms',
                environ.get("REMOTE_ADDR", "-"),
                _login(environ) or "-",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                seen.get("status", "-").split(" ", 1)[0],
                (time.perf_counter() - started) * 1000,
            )
        return body

    def _dispatch(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            decode_names(environ)
            check_headers(environ)
            path = environ.get("PATH_INFO", "")
            read_body(environ, self._body_limit(path))
            for prefix, mounted in self._mounts:
                if path.startswith(prefix):
                    return mounted(environ, start_response)
            self._check_xml(environ, path)
        except Refused as refused:
            return _refusal(environ, start_response, refused.status, refused.reason)
        return self._dav_with_reasons(environ, start_response)

    def _body_limit(self, path: str) -> int:
        for prefix, limit in self._upload_limits:
            if path.startswith(prefix):
                return limit
        return self._max_body_size

    def _check_xml(self, environ: dict, path: str) -> None:
        method = environ.get("REQUEST_METHOD")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if method not in _XML_METHODS or not length:
            return
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        update = check_xml(body)
        if method == "PROPPATCH" or method in _CREATING:
            self._property_limits.check(path, update, len(body), method in _CREATING)

    def _dav_with_reasons(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        self._last_warning.take()
        captured: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = self._dav(environ, capture)
        status, headers = captured["status"], captured["headers"]
        reason = self._last_warning.take()
        if status.startswith("400") and reason:
            return plain_text(start_response, status, f"Bad Request: {_first_line(reason)}")
        if status.startswith("401"):  # Radicale's body says "forbidden"
            challenge = [(k, v) for k, v in headers if k.lower() == "www-authenticate"]
            return plain_text(start_response, status, "authentication required", challenge)
        start_response(status, headers)
        return body


def _first_line(text: str) -> str:
    return _LOG_PREFIX.sub("", text.strip().splitlines()[0])[:500]


def plain_text(
    start_response: Callable, status: str, text: str, extra: list | None = None
) -> list[bytes]:
    """A short text/plain answer, the reason for a refusal."""
    data = (text + "\n").encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))]
    start_response(status, headers + (extra or []))
    return [data]


def _refusal(environ: dict, start_response: Callable, status: str, reason: str) -> list[bytes]:
    """A refused request's answer: JSON under ``/api/`` like every answer there, else text."""
    if not environ.get("PATH_INFO", "").startswith("/api/"):
        return plain_text(start_response, status, reason)
    data = error_response(int(status[:3]), reason).body
    headers = [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("Content-Length", str(len(data))),
    ]
    start_response(status, headers)
    return [data]


def _login(environ: dict) -> str | None:
    credentials = basic_credentials(environ)
    return credentials[0] if credentials else None
