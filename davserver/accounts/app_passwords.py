"""Per-device app passwords: each shown once, listed by label, revocable alone."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from davserver.accounts.directory import AccountError
from davserver.accounts.secrets import app_password_digest, new_app_password, new_id
from davserver.database import Database
from davserver.tables import app_passwords, users


@dataclass(frozen=True)
class AppPassword:
    id: str
    label: str
    created_at: int


def check_label(label: str) -> str:
    if not label.strip() or len(label) > 100 or any(ord(c) < 32 for c in label):
        raise AccountError(f"invalid label {label!r}: 1 to 100 printable characters")
    return label


class AppPasswords:
    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, user: str, label: str) -> tuple[AppPassword, str]:
        """Create one; the clear password is returned here and never again."""
        check_label(label)
        password = new_app_password()
        entry = AppPassword(new_id(), label, int(time.time()))
        try:
            with self._db.transaction() as connection:
                if (
                    connection.execute(select(users.c.name).where(users.c.name == user)).first()
                    is None
                ):
                    raise AccountError(f"no such user {user!r}")
                connection.execute(
                    insert(app_passwords).values(
                        id=entry.id,
                        user=user,
                        label=label,
                        digest=app_password_digest(password),
                        created_at=entry.created_at,
                    )
                )
        except IntegrityError:
            raise AccountError(f"{user!r} already has an app password labelled {label!r}") from None
        return entry, password

    def list(self, user: str) -> list[AppPassword]:
        with self._db.reader() as connection:
            rows = connection.execute(
                select(app_passwords.c.id, app_passwords.c.label, app_passwords.c.created_at)
                .where(app_passwords.c.user == user)
                .order_by(app_passwords.c.created_at, app_passwords.c.label)
            )
            return [AppPassword(row.id, row.label, row.created_at) for row in rows]

    def revoke(self, user: str, id_or_label: str) -> None:
        with self._db.transaction() as connection:
            removed = connection.execute(
                delete(app_passwords).where(
                    app_passwords.c.user == user,
                    (app_passwords.c.id == id_or_label) | (app_passwords.c.label == id_or_label),
                )
            ).rowcount
        if not removed:
            raise AccountError(f"{user!r} has no app password {id_or_label!r}")
