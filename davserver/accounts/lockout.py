"""The lock-out against password guessing: failed logins counted per account and per address.

Each failed login adds one to the account it named and to the client address
it came from; ``attempts`` failures within ``window`` lock that account (and
``address_attempts`` that address) for ``duration``. A locked account is
refused even with the right password: accepting it would tell the guesser
they found it. The counts live
in the database, so a restart forgives nothing; ``murmeli user unlock`` clears
them. Logins that name no account are counted under the name as typed, so a
lock-out looks the same for existing and unknown names.
"""

from __future__ import annotations

import time

from sqlalchemy import and_, bindparam, delete, literal, null, or_, select
from sqlalchemy.exc import IntegrityError

from davserver.database import Database, upsert
from davserver.settings import LoginLockoutSettings
from davserver.tables import login_failures, users

ACCOUNT = "account"
ADDRESS = "address"
LOCKED = "locked"
_KEY_LENGTH = 254


class LoginLockout:
    def __init__(self, database: Database, settings: LoginLockoutSettings) -> None:
        self._db = database
        self._settings = settings

    def failed(self, account: str, address: str) -> None:
        """Count one failed login; the failure that reaches ``attempts`` starts the lock-out."""
        try:
            self._count(account, address)
        except IntegrityError:
            # Another failure for the same new key was counted at the same moment.
            self._count(account, address)

    def _count(self, account: str, address: str) -> None:
        now = int(time.time())
        window = int(self._settings.window)
        limits = {ACCOUNT: self._settings.attempts, ADDRESS: self._settings.address_attempts}
        with self._db.transaction() as connection:
            connection.execute(
                delete(login_failures).where(
                    login_failures.c.first_at <= now - window,
                    login_failures.c.locked_until <= now,
                )
            )
            for kind, key in ((ACCOUNT, account), (ADDRESS, address)):
                if not key:
                    continue
                row = connection.execute(select(login_failures).where(*_match(kind, key))).first()
                fresh = row is None or row.first_at <= now - window
                failures = 1 if fresh else row.failures + 1
                locked_until = 0 if row is None else row.locked_until
                if failures >= limits[kind]:
                    locked_until = now + int(self._settings.duration)
                upsert(
                    connection,
                    login_failures,
                    {"kind": kind, "key": key[:_KEY_LENGTH]},
                    {
                        "failures": failures,
                        "first_at": now if fresh else row.first_at,
                        "locked_until": locked_until,
                    },
                )

    def unlock(self, kind: str, key: str) -> bool:
        """Forget the failures of one account or address; False when there were none."""
        with self._db.transaction() as connection:
            removed = connection.execute(delete(login_failures).where(*_match(kind, key)))
        return bool(removed.rowcount)


def _match(kind: str, key: str) -> list:
    return [login_failures.c.kind == kind, login_failures.c.key == key[:_KEY_LENGTH]]


_login = bindparam("login")
# The lock-outs that refuse a login now (parameters ``login``, ``address``, ``now``): its
# account's, named or addressed by e-mail (or the login as typed, when it names none), and
# its client address's. Shaped to join the credentials query: one round trip per login.
LOCKS = select(
    login_failures.c.key.label("name"), literal(LOCKED).label("kind"), null().label("secret")
).where(
    or_(
        and_(
            login_failures.c.kind == ACCOUNT,
            or_(
                login_failures.c.key == _login,
                login_failures.c.key.in_(
                    select(users.c.name).where(or_(users.c.name == _login, users.c.email == _login))
                ),
            ),
        ),
        and_(login_failures.c.kind == ADDRESS, login_failures.c.key == bindparam("address")),
    ),
    login_failures.c.locked_until > bindparam("now"),
)
