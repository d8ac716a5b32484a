"""Checks a login (user name or email) and password against the account and its app passwords.

Argon2 costs ~0.1 s, too much for every DAV request. A successful check is
remembered as an HMAC of the password under a per-process key, filed under the
stored hash it matched. Every request still reads the stored hashes, so a
changed account password or a revoked app password fails at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from sqlalchemy import or_, select, union_all

from davserver.accounts.secrets import verify_secret
from davserver.database import Database
from davserver.tables import app_passwords, users

_CACHE_LIMIT = 10_000


class Authenticator:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def user_for(self, login: str, password: str) -> str:
        """The user name these credentials belong to, or "" when they do not match."""
        if not login or not password:
            return ""
        candidates = self._stored_hashes(login)
        digest = hmac.new(self._key, password.encode(), hashlib.sha256).digest()
        for name, stored in candidates:
            remembered = self._verified.get(stored)
            if remembered is not None and hmac.compare_digest(remembered, digest):
                return name
        for name, stored in candidates:
            if verify_secret(stored, password):
                with self._lock:
                    if len(self._verified) >= _CACHE_LIMIT:
                        self._verified.clear()
                    self._verified[stored] = digest
                return name
        return ""

    def _stored_hashes(self, login: str) -> list[tuple[str, str]]:
        matches_login = or_(users.c.name == login, users.c.email == login)
        account = select(users.c.name, users.c.password_hash.label("hash")).where(
            matches_login, users.c.password_hash.is_not(None)
        )
        devices = (
            select(users.c.name, app_passwords.c.password_hash.label("hash"))
            .join(app_passwords, app_passwords.c.user == users.c.name)
            .where(matches_login)
        )
        with self._db.reader() as connection:
            return [(row.name, row.hash) for row in connection.execute(union_all(account, devices))]
