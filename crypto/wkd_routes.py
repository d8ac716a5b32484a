"""Murmeli's users' public keys as a Web Key Directory, mounted at ``/.well-known/openpgpkey/``.

Other people's mail programs (GnuPG ``--locate-keys``, Thunderbird, Gpg4win)
find a key at ``/.well-known/openpgpkey/hu/HASH?l=LOCAL`` on the mail domain
(direct method: the domain is the request's host) or at
``/.well-known/openpgpkey/DOMAIN/hu/HASH?l=LOCAL`` on ``openpgpkey.DOMAIN``
(advanced method). The answer is the binary key with only the user ID of that
address, so the directory lists no other address a key may carry. Only a
Murmeli user's address is answered (their key is made on first use, like
every key); anything else is 404, the same for unknown users and bad hashes,
so the directory cannot be used to tell which names exist beyond asking for
them. No login: these keys are public by design.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from crypto import openpgp
from crypto.keys import KeyStoreError, normalise_address, stored_public_key, user_id_is
from crypto.openpgp import PGPKey
from crypto.wkd import hashed_local_part
from davserver.services import Services

PREFIX = "/.well-known/openpgpkey/"
_KEY = re.compile(r"^(?:(?P<domain>[A-Za-z0-9.-]+)/)?hu/(?P<hash>[a-z0-9]{32})$")
_POLICY = re.compile(r"^(?:[A-Za-z0-9.-]+/)?policy$")
_TEXT = "text/plain; charset=utf-8"


class WebKeyDirectory:
    def __init__(self, services: Services) -> None:
        self._services = services

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(
                start_response, "405 Method Not Allowed", b"", extra=[("Allow", "GET, HEAD")]
            )
        path = environ.get("PATH_INFO", "")[len(PREFIX) :]
        if _POLICY.match(path):
            return _answer(start_response, "200 OK", b"", _TEXT)
        match = _KEY.match(path)
        key = self._key(match, environ) if match else None
        if key is None:
            return _answer(start_response, "404 Not Found", b"no key for this address\n", _TEXT)
        return _answer(start_response, "200 OK", bytes(key), "application/octet-stream")

    def _key(self, match: re.Match, environ: dict) -> PGPKey | None:
        local = parse_qs(environ.get("QUERY_STRING", "")).get("l", [""])[0]
        domain = match["domain"] or _host(environ)
        if not local or hashed_local_part(local) != match["hash"]:
            return None
        try:
            address = normalise_address(f"{local}@{domain}")
        except KeyStoreError:
            return None
        if not self._served(address):
            return None
        key = stored_public_key(self._services.database, address)
        if key is None:
            return None
        return openpgp.only_user_ids(key, lambda uid: user_id_is(uid, address))

    def _served(self, address: str) -> bool:
        """Whether this server answers for ``address``: a local domain's, or a user's own."""
        if address.rpartition("@")[2] in self._services.settings.relay.local_domains:
            return True
        user = self._services.directory.find_by_address(address)
        return user is not None and (user.email or "").lower() == address


def _host(environ: dict) -> str:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def _answer(
    start_response: Callable,
    status: str,
    body: bytes,
    content_type: str = _TEXT,
    extra: list | None = None,
) -> list[bytes]:
    # Any origin may read public keys: web mail clients look them up from the browser.
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "max-age=3600"),
        ("Access-Control-Allow-Origin", "*"),
    ]
    start_response(status, headers + (extra or []))
    return [body]
