"""Which failures of a job are worth another attempt, and how long to wait before it.

Transient: the connection dropped or timed out, the server said ``BYE``, or
it asked us to slow down (Gmail's ``[THROTTLED]``/``[UNAVAILABLE]``/"bandwidth
limits", Microsoft's "Request is throttled" with its suggested back-off).
Permanent, failing the job at once with a reason a user can act on: a refused
login, a TLS certificate that does not verify, a folder the destination will
not create. Anything else is retried, up to ``importer.retries`` attempts.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from importer.connection import ImapEndpoint

_THROTTLED = re.compile(
    r"THROTTLED|UNAVAILABLE|bandwidth limits|too many simultaneous|try again later|"
    r"Server Unavailable|Request is throttled|temporar",
    re.IGNORECASE,
)
_SUGGESTED_BACKOFF = re.compile(r"Suggested Backoff Time:\s*(\d+)\s*milliseconds", re.IGNORECASE)
_APP_PASSWORD = re.compile(r"application-specific password|app password|web login", re.IGNORECASE)


class PermanentFailure(Exception):
    """A failure no retry can mend (a missing key or password file); the text says which."""


class ConnectFailure(Exception):
    """Connecting or logging in to one side failed: says which side and which server."""

    def __init__(self, side: str, endpoint: ImapEndpoint, cause: BaseException) -> None:
        super().__init__(f"{side} {endpoint.host}:{endpoint.port}: {_describe(cause)}")
        self.side = side
        self.cause = cause


@dataclass(frozen=True)
class LabelledEndpoint(ImapEndpoint):
    """An endpoint whose connection failures name the side (source or destination)."""

    side: str = "source"

    def connect(self):
        try:
            return super().connect()
        except (OSError, IMAPClientError) as error:
            raise ConnectFailure(self.side, self, error) from error


@dataclass(frozen=True)
class Failure:
    reason: str
    permanent: bool
    wait: float | None = None  # what the server asked for, if it said


def classify(error: BaseException) -> Failure:
    cause = error.cause if isinstance(error, ConnectFailure) else error
    reason = str(error) if isinstance(error, ConnectFailure) else _describe(error)
    text = str(cause)
    if _THROTTLED.search(text):
        suggested = _SUGGESTED_BACKOFF.search(text)
        wait = int(suggested[1]) / 1000 if suggested else None
        return Failure(f"throttled: {reason}", permanent=False, wait=wait)
    if isinstance(cause, PermanentFailure):
        return Failure(reason, permanent=True)
    if isinstance(cause, LoginError):
        hint = " (the provider wants an app password)" if _APP_PASSWORD.search(text) else ""
        return Failure(f"authentication failed at {reason}{hint}", permanent=True)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return Failure(f"TLS certificate invalid: {reason}", permanent=True)
    if isinstance(cause, ssl.SSLError):
        return Failure(f"TLS failed (wrong port or security?): {reason}", permanent=True)
    if isinstance(cause, socket.gaierror):
        return Failure(f"unknown server: {reason}", permanent=True)
    if isinstance(cause, IMAPClientAbortError | OSError):
        return Failure(f"connection lost: {reason}", permanent=False)
    if isinstance(cause, IMAPClientError) and text.lower().startswith("create failed"):
        return Failure(f"a folder cannot be created in the destination: {reason}", permanent=True)
    return Failure(reason, permanent=False)


def backoff(attempt: int, first: float, longest: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (0-based): doubling, capped."""
    return min(first * 2**attempt, longest)


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
