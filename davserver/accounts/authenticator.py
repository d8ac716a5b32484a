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
from dataclasses import dataclass

from sqlalchemy import bindparam, literal, or_, select, union_all

from davserver.accounts.lockout import LoginLockout
from davserver.accounts.secrets import app_password_digest, verify_secret
from davserver.database import Database
from davserver.tables import app_passwords, users

_CACHE_LIMIT = 10_000
ACCOUNT_PASSWORD = "account"
APP_PASSWORD = "device"
_login = bindparam("login")
_matches_login = or_(users.c.name == _login, users.c.email == _login)
# One round trip: the device whose digest matches, then the account's own hash.
_CREDENTIALS = union_all(
    select(
        users.c.name, literal(APP_PASSWORD).label("kind"), app_passwords.c.digest.label("secret")
    )
    .join(app_passwords, app_passwords.c.user == users.c.name)
    .where(_matches_login, app_passwords.c.digest == bindparam("digest")),
    select(
        users.c.name, literal(ACCOUNT_PASSWORD).label("kind"), users.c.password_hash.label("secret")
    ).where(_matches_login, users.c.password_hash.is_not(None)),
)


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
        accounts, kind, name = self._match(login, password)
        account = accounts[0][0] if accounts else login
        if self._lockout.locked(account, address):
            return Login("", locked=True)
        if not kind:
            self._lockout.failed(account, address)
        return Login(name, kind)

    def user_for(self, login: str, password: str) -> str:
        """The user name these credentials belong to, or "" when they do not match."""
        return self._match(login, password)[2]

    def _match(self, login: str, password: str) -> tuple[list[tuple[str, str]], str, str]:
        """The accounts the login names, and which kind of password matched for which user."""
        if not login or not password:
            return [], "", ""
        with self._db.reader() as connection:
            rows = connection.execute(
                _CREDENTIALS, {"login": login, "digest": app_password_digest(password)}
            ).all()
        accounts = []
        for row in rows:
            if row.kind == APP_PASSWORD:
                return [(row.name, "")], APP_PASSWORD, row.name
            accounts.append((row.name, row.secret))
        name = self._check_account(accounts, password)
        return accounts, ACCOUNT_PASSWORD if name else "", name

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
