"""Web Key Directory (draft-koch-openpgp-webkey-service): where a key of an address lives.

The same naming serves both directions: ``crypto/wkd_routes.py`` answers these
paths for Murmeli's users, and ``WkdClient`` looks up outside recipients.

The client asks the advanced method first
(``https://openpgpkey.DOMAIN/.well-known/openpgpkey/DOMAIN/hu/HASH?l=LOCAL``)
and only when that host does not exist or refuses the connection the direct
method (``https://DOMAIN/.well-known/openpgpkey/hu/HASH?l=LOCAL``), as the
draft orders. Only HTTPS with a verified certificate, a short timeout, no
redirects followed. A key counts only if it carries a user ID with the address
and can be encrypted to; anything else is "no key". Answers, negative ones
included, are cached for ``cache_seconds``, so an unreachable domain costs one
timeout per period rather than one per message.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from config.schema import Listen
from crypto import openpgp
from crypto.keys import carries_address
from crypto.openpgp import PGPKey, UndeliverableKey

_ZBASE32 = "ybndrfg8ejkmcpqxot1uwisza345h769"
_MAX_KEY_SIZE = 1024 * 1024
_MAX_CACHED = 10_000


def zbase32(data: bytes) -> str:
    """z-base-32 (RFC 6189 section 5.1.6), the encoding of the WKD hash."""
    bits = int.from_bytes(data, "big")
    count = (8 * len(data) + 4) // 5
    bits <<= 5 * count - 8 * len(data)
    return "".join(_ZBASE32[(bits >> (5 * (count - 1 - i))) & 31] for i in range(count))


def hashed_local_part(local_part: str) -> str:
    """zbase32(SHA-1(local part)), the local part lower-cased in ASCII only (as GnuPG does)."""
    lowered = local_part.encode("utf-8").translate(_ASCII_LOWER)
    return zbase32(hashlib.sha1(lowered).digest())


_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


def key_urls(address: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(host, path) of the advanced then the direct method for ``address``."""
    local, domain = address.rsplit("@", 1)
    domain = domain.lower()
    query = "?l=" + urllib.parse.quote(local, safe="")
    hashed = hashed_local_part(local)
    return (
        (f"openpgpkey.{domain}", f"/.well-known/openpgpkey/{domain}/hu/{hashed}{query}"),
        (domain, f"/.well-known/openpgpkey/hu/{hashed}{query}"),
    )


@dataclass(frozen=True)
class WkdOptions:
    timeout: float
    cache_seconds: float
    ca_file: Path | None = None
    connect_to: Listen | None = None


class WkdClient:
    """Looks keys up in the recipient's domain; thread-safe, answers cached."""

    def __init__(self, options: WkdOptions) -> None:
        self._options = options
        self._context = ssl.create_default_context(
            cafile=str(options.ca_file) if options.ca_file else None
        )
        self._cache: dict[str, tuple[float, PGPKey | None]] = {}
        self._lock = threading.Lock()

    def find(self, address: str) -> PGPKey | None:
        address = address.lower()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(address)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = self._look_up(address)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.pop(next(iter(self._cache)))
            self._cache[address] = (now + self._options.cache_seconds, key)
        return key

    def _look_up(self, address: str) -> PGPKey | None:
        advanced, direct = key_urls(address)
        try:
            data = self._fetch(*advanced)
        except (socket.gaierror, ConnectionRefusedError):
            data = self._fetch_quietly(*direct)
        except (OSError, http.client.HTTPException):
            return None
        return _usable_key(data, address) if data else None

    def _fetch_quietly(self, host: str, path: str) -> bytes | None:
        try:
            return self._fetch(host, path)
        except (OSError, http.client.HTTPException):
            return None

    def _fetch(self, host: str, path: str) -> bytes | None:
        """The body of a 200 answer, else None; network and TLS errors raise ``OSError``."""
        connection = _Connection(host, self._options, self._context)
        try:
            connection.request("GET", path, headers={"Accept": "application/octet-stream"})
            response = connection.getresponse()
            if response.status != 200:
                return None
            body = response.read(_MAX_KEY_SIZE + 1)
            return body if len(body) <= _MAX_KEY_SIZE else None
        finally:
            connection.close()


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ``host``, optionally through ``connect_to``; the certificate is always
    verified for ``host`` itself, so the override changes routing, never trust."""

    def __init__(self, host: str, options: WkdOptions, context: ssl.SSLContext) -> None:
        super().__init__(host, 443, timeout=options.timeout, context=context)
        self._connect_to = options.connect_to
        self._tls = context

    def connect(self) -> None:
        if self._connect_to is None:
            super().connect()
            return
        target = (self._connect_to.host, self._connect_to.port)
        raw = socket.create_connection(target, self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _usable_key(data: bytes, address: str) -> PGPKey | None:
    try:
        key = openpgp.parse_key(data)
        if not key.is_public:
            return None
        openpgp.check_deliverable(key)
    except (ValueError, UndeliverableKey):
        return None
    return key if carries_address(key, address) else None
