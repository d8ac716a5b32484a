"""Checks a login (user name or email) and password against the account and its app passwords.

App passwords are matched by digest in the same query that fetches the
account's Argon2 hash. Argon2 costs ~0.1 s, too much for every DAV request, so
a successful account-password check is remembered as an HMAC of the password
under a per-process key, filed under the stored hash it matched. Every request
still reads the stored credentials, so a changed account password or a revoked
app password fails at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading

from sqlalchemy import bindparam, literal, or_, select, union_all

from davserver.accounts.secrets import app_password_digest, verify_secret
from davserver.database import Database
from davserver.tables import app_passwords, users

_CACHE_LIMIT = 10_000
_login = bindparam("login")
_matches_login = or_(users.c.name == _login, users.c.email == _login)
# One round trip: the device whose digest matches, then the account's own hash.
_CREDENTIALS = union_all(
    select(users.c.name, literal("device").label("kind"), app_passwords.c.digest.label("secret"))
    .join(app_passwords, app_passwords.c.user == users.c.name)
    .where(_matches_login, app_passwords.c.digest == bindparam("digest")),
    select(
        users.c.name, literal("account").label("kind"), users.c.password_hash.label("secret")
    ).where(_matches_login, users.c.password_hash.is_not(None)),
)


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
        with self._db.reader() as connection:
            rows = connection.execute(
                _CREDENTIALS, {"login": login, "digest": app_password_digest(password)}
            ).all()
        accounts = []
        for row in rows:
            if row.kind == "device":
                return row.name
            accounts.append((row.name, row.secret))
        return self._check_account(accounts, password)

    def _check_account(self, accounts: list[tuple[str, str]], password: str) -> str:
        digest = hmac.new(self._key, password.encode(), hashlib.sha256).digest()
        for name, stored in accounts:
            remembered = self._verified.get(stored)
            if remembered is not None and hmac.compare_digest(remembered, digest):
                return name
        for name, stored in accounts:
            if verify_secret(stored, password):
                with self._lock:
                    if len(self._verified) >= _CACHE_LIMIT:
                        self._verified.clear()
                    self._verified[stored] = digest
                return name
        return ""
