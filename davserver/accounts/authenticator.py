"""Checks a login (user name or email) and password against the account and its app passwords.

App passwords are matched by digest in the same query that fetches the
account's Argon2 hash. Argon2 costs ~0.1 s, too much for every DAV request, so
a successful account-password check is remembered as an HMAC of the password
under a per-process key, filed under the stored hash it matched. Every request
still reads the stored credentials, so a changed account password or a revoked
app password fails at once.

``login`` is the front door (the DAV tree, ``/api/``): it also says which kind
of password was used (an app password may not manage passwords or keys) and
applies the lock-out against password guessing. ``user_for`` only checks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import bindparam, literal, or_, select, union_all

from davserver.accounts.lockout import LOCKED, LOCKS, LoginLockout
from davserver.accounts.secrets import app_password_digest, verify_secret
from davserver.database import Database
from davserver.tables import app_passwords, users

_CACHE_LIMIT = 10_000
ACCOUNT_PASSWORD = "account"
APP_PASSWORD = "device"
_login = bindparam("login")
_matches_login = or_(users.c.name == _login, users.c.email == _login)
# One round trip: the device whose digest matches, the account (and its hash, if it has
# one), and any lock-out that refuses this login.
_CREDENTIALS = union_all(
    select(
        users.c.name, literal(APP_PASSWORD).label("kind"), app_passwords.c.digest.label("secret")
    )
    .join(app_passwords, app_passwords.c.user == users.c.name)
    .where(_matches_login, app_passwords.c.digest == bindparam("digest")),
    select(
        users.c.name, literal(ACCOUNT_PASSWORD).label("kind"), users.c.password_hash.label("secret")
    ).where(_matches_login),
    LOCKS,
)


@dataclass
class _Found:
    """What the credentials query found for one login."""

    accounts: list[tuple[str, str | None]] = field(default_factory=list)  # name, hash
    device: str = ""  # the user whose app password matched
    locked: bool = False


@dataclass(frozen=True)
class Login:
    """The outcome of a login: ``user`` is "" when refused, ``locked`` says it was locked out."""

    user: str
    kind: str = ""  # ACCOUNT_PASSWORD or APP_PASSWORD when accepted
    locked: bool = False


class Authenticator:
    def __init__(self, database: Database, lockout: LoginLockout) -> None:
        self._db = database
        self._lockout = lockout
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def login(self, login: str, password: str, address: str) -> Login:
        """Check a login from a client at ``address``, counting a failure towards the lock-out."""
        found = self._find(login, password, address)
        if found.locked:
            return Login("", locked=True)
        name, kind = self._verify(found, password)
        if not kind:
            self._lockout.failed(found.accounts[0][0] if found.accounts else login, address)
        return Login(name, kind)

    def user_for(self, login: str, password: str) -> str:
        """The user name these credentials belong to, or "" when they do not match."""
        return self._verify(self._find(login, password, ""), password)[0]

    def _find(self, login: str, password: str, address: str) -> _Found:
        found = _Found()
        if not login or not password:
            return found
        values = {
            "login": login,
            "digest": app_password_digest(password),
            "address": address,
            "now": int(time.time()),
        }
        with self._db.reader() as connection:
            for row in connection.execute(_CREDENTIALS, values):
                if row.kind == LOCKED:
                    found.locked = True
                elif row.kind == APP_PASSWORD:
                    found.device = row.name
                else:
                    found.accounts.append((row.name, row.secret))
        return found

    def _verify(self, found: _Found, password: str) -> tuple[str, str]:
        """The user and the kind of password that matched, or ("", "")."""
        if found.device:
            return found.device, APP_PASSWORD
        hashes = [(name, stored) for name, stored in found.accounts if stored]
        name = self._check_account(hashes, password)
        return (name, ACCOUNT_PASSWORD) if name else ("", "")

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
