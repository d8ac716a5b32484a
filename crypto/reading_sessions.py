"""Short-lived reading sessions: after the right password, attachments download without it.

A session is 256 random bits (a cookie) bound to one message, held only in
this process's memory with the derived key, never the plaintext; it ends after
``LIFETIME`` seconds or when the server restarts (the reader types the password
again). Secrets are compared in constant time.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass

from davserver.accounts.secrets import new_link_token

LIFETIME = 15 * 60
MAX_PER_MESSAGE = 8


@dataclass(frozen=True)
class _Session:
    secret: str
    key: bytes
    ends: float


class ReadingSessions:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, list[_Session]] = {}

    def open(self, message_id: str, key: bytes) -> str:
        secret = new_link_token()
        with self._lock:
            for other in list(self._sessions):
                self._live(other)  # forgets ended sessions of messages nobody reads any more
            live = self._sessions.get(message_id, [])[-(MAX_PER_MESSAGE - 1) :]
            self._sessions[message_id] = [*live, _Session(secret, key, time.monotonic() + LIFETIME)]
        return secret

    def key(self, message_id: str, secret: str) -> bytes | None:
        """The derived key of the session ``secret`` of this message, or None."""
        with self._lock:
            live = self._live(message_id)
        matches = [s.key for s in live if hmac.compare_digest(s.secret.encode(), secret.encode())]
        return matches[0] if matches else None

    def _live(self, message_id: str) -> list[_Session]:
        now = time.monotonic()
        live = [s for s in self._sessions.pop(message_id, []) if s.ends > now]
        if live:
            self._sessions[message_id] = live
        return live
