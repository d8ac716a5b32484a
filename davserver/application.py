"""The WSGI application: Radicale's DAV tree with Murmeli's own mounts (``/api/``…) beside it.

Around both: one access-log line per request, the body-size limit (413 with a
reason before anything is read), XML bodies with DTDs refused (400, where
Radicale's defusedxml answers 500), and a reason in the body of Radicale's bare
"Bad Request" answers, taken from what Radicale logged for that request; and the
browser security headers on every answer (``davserver.security_headers``).
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

from radicale import Application as RadicaleApplication

from davserver.api import basic_credentials
from davserver.security_headers import secured
from davserver.url_space import is_reserved, top_level_name

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
access_log = logging.getLogger("murmeli.access")
_XML_METHODS = frozenset({"PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR"})
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
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
    ) -> None:
        """``mounts`` maps a path prefix (``/api/``) to the WSGI application serving it; each
        prefix must start with a reserved name (``davserver/url_space.py``), else a user of
        that name would lose their DAV home to it."""
        for prefix in mounts:
            if not is_reserved(top_level_name(prefix)):
                raise ValueError(f"mount {prefix} is not reserved in davserver/url_space.py")
        self._dav = dav
        self._mounts = tuple(mounts.items())
        self._max_body_size = max_body_size
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
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return plain_text(start_response, "400 Bad Request", "invalid Content-Length")
        if length > self._max_body_size:
            return plain_text(
                start_response,
                "413 Payload Too Large",
                f"request body of {length} bytes exceeds the limit of {self._max_body_size} bytes",
            )
        path = environ.get("PATH_INFO", "")
        for prefix, mounted in self._mounts:
            if path.startswith(prefix):
                return mounted(environ, start_response)
        if environ.get("REQUEST_METHOD") in _XML_METHODS and length:
            body = environ["wsgi.input"].read(length)
            if _DTD.search(body):
                return plain_text(
                    start_response,
                    "400 Bad Request",
                    "XML with DTD or entity declarations is refused",
                )
            environ["wsgi.input"] = io.BytesIO(body)
        return self._dav_with_reasons(environ, start_response)

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


def _login(environ: dict) -> str | None:
    credentials = basic_credentials(environ)
    return credentials[0] if credentials else None
