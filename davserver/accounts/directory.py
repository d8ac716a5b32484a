"""Who belongs to the organisation: users, their role, and the teams they are in.

Roles follow the organisation's structure: ``legal`` (legal representative),
``admin``, ``collaborator`` and ``external``. Externals are guests: they never
belong to the organisation-wide group, so organisation-wide shares skip them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from davserver.accounts.secrets import hash_secret
from davserver.database import Database
from davserver.tables import app_passwords, shares, team_members, teams, users
from davserver.url_space import RESERVED_NAMES, is_reserved

ROLES = ("legal", "admin", "collaborator", "external")
ORGANISATION_GROUP = "org"
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_TEAM_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# One row per team membership (one with team NULL for a user in none).
_USERS_WITH_TEAMS = select(
    users.c.name, users.c.email, users.c.role, team_members.c.team
).outerjoin(team_members, team_members.c.user == users.c.name)
# Built once: the lookup runs on every authenticated request.
_USER_WITH_TEAMS = _USERS_WITH_TEAMS.where(users.c.name == bindparam("name"))


class AccountError(ValueError):
    """Refused input about accounts, worded for the person who gave it."""


@dataclass(frozen=True)
class User:
    name: str
    email: str | None
    role: str
    teams: tuple[str, ...]

    @property
    def groups(self) -> set[str]:
        """Teams, plus the organisation-wide group unless external."""
        extra = set() if self.role == "external" else {ORGANISATION_GROUP}
        return set(self.teams) | extra


def _users(rows: Iterable[Row]) -> list[User]:
    """Users from rows of ``_USERS_WITH_TEAMS``, in the order they first appear."""
    found: dict[str, tuple[Row, list[str]]] = {}
    for row in rows:
        _, member_of = found.setdefault(row.name, (row, []))
        if row.team is not None:
            member_of.append(row.team)
    return [
        User(row.name, row.email, row.role, tuple(sorted(member_of)))
        for row, member_of in found.values()
    ]


def check_user_name(name: str) -> str:
    if not _USER_NAME.match(name) or name == ORGANISATION_GROUP:
        raise AccountError(
            f"invalid user name {name!r}: use letters, digits and . _ @ - (at most 64;"
            f" {ORGANISATION_GROUP!r} names the whole organisation in shares)"
        )
    if is_reserved(name):
        raise AccountError(
            f"user name {name!r} is reserved: Murmeli serves /{name.lower()}/ itself, so"
            f" that user's calendars and address books could not be reached; choose another"
            f" (reserved: {', '.join(sorted(RESERVED_NAMES))})"
        )
    return name


def reserved_name_notice(name: str) -> str:
    """What to do about a user made before ``name`` was reserved."""
    return (
        f"user {name!r} has a name Murmeli serves itself (/{name.lower()}/): their calendars"
        " and address books cannot be reached. With the server stopped: add a user with"
        f" another name, move the folder collections/collection-root/{name} of the data"
        " folder to that name, share again what they shared, then"
        f" `murmeli user remove {name}`."
    )


def check_team_name(name: str) -> str:
    if not _TEAM_NAME.match(name) or name == ORGANISATION_GROUP:
        raise AccountError(
            f"invalid team name {name!r}: use lower-case letters, digits and . _ -"
            f" ({ORGANISATION_GROUP!r} is reserved for the whole organisation)"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")
    return role


def check_email(email: str | None) -> str | None:
    if email is not None and not _EMAIL.match(email):
        raise AccountError(f"invalid email address {email!r}")
    return email


class Directory:
    def __init__(self, database: Database) -> None:
        self._db = database

    def add(
        self,
        name: str,
        password: str | None,
        role: str = "collaborator",
        email: str | None = None,
        teams_: tuple[str, ...] = (),
    ) -> User:
        check_user_name(name)
        check_role(role)
        check_email(email)
        for team in teams_:
            check_team_name(team)
        password_hash = hash_secret(password) if password else None
        try:
            with self._db.transaction() as connection:
                connection.execute(
                    insert(users).values(
                        name=name,
                        email=email,
                        role=role,
                        password_hash=password_hash,
                        created_at=int(time.time()),
                    )
                )
                for team in teams_:
                    self._join(connection, name, team)
        except IntegrityError:
            raise AccountError(f"user {name!r} or email {email!r} already exists") from None
        return self.get(name)

    def get(self, name: str) -> User:
        with self._db.reader() as connection:
            found = _users(connection.execute(_USER_WITH_TEAMS, {"name": name}))
        if not found:
            raise AccountError(f"no such user {name!r}")
        return found[0]

    def find(self, name: str) -> User | None:
        try:
            return self.get(name)
        except AccountError:
            return None

    def find_by_address(self, address: str) -> User | None:
        """A user by name or email (``mailto:`` prefix and case ignored for emails)."""
        address = address.removeprefix("mailto:").removeprefix("MAILTO:")
        if "@" in address:
            by_email = _USERS_WITH_TEAMS.where(func.lower(users.c.email) == address.lower())
            with self._db.reader() as connection:
                found = _users(connection.execute(by_email))
            if found:
                return found[0]
        return self.find(address)

    def find_all_by_address(self, addresses: Iterable[str]) -> dict[str, User]:
        """``find_by_address`` of many addresses (an event's attendees) in two queries:
        address -> user, for the addresses that name one."""
        bare = {a: a.removeprefix("mailto:").removeprefix("MAILTO:") for a in addresses}
        if not bare:
            return {}
        emails = {b.lower() for b in bare.values() if "@" in b}
        lowered = func.lower(users.c.email)
        with self._db.reader() as connection:
            by_email = dict(
                connection.execute(select(lowered, users.c.name).where(lowered.in_(emails))).all()
            )
            names = {a: by_email.get(b.lower(), b) for a, b in bare.items()}
            found = _users(
                connection.execute(_USERS_WITH_TEAMS.where(users.c.name.in_(set(names.values()))))
            )
        by_name = {user.name: user for user in found}
        return {a: by_name[name] for a, name in names.items() if name in by_name}

    def list(self) -> list[User]:
        """Every user, by name, in one query (the reminder scan asks at every poll)."""
        with self._db.reader() as connection:
            return _users(connection.execute(_USERS_WITH_TEAMS.order_by(users.c.name)))

    def reserved_names_taken(self) -> list[str]:
        """Users named, before the name was reserved, like something Murmeli serves."""
        with self._db.reader() as connection:
            names = connection.execute(select(users.c.name).order_by(users.c.name)).scalars()
            return [name for name in names if is_reserved(name)]

    def set_password(self, name: str, password: str) -> None:
        self._change(name, password_hash=hash_secret(password))

    def set_role(self, name: str, role: str) -> None:
        self._change(name, role=check_role(role))

    def join(self, name: str, team: str) -> None:
        check_team_name(team)
        self.get(name)
        with self._db.transaction() as connection:
            self._join(connection, name, team)

    def leave(self, name: str, team: str) -> None:
        self.get(name)
        with self._db.transaction() as connection:
            if not connection.execute(
                delete(team_members).where(team_members.c.user == name, team_members.c.team == team)
            ).rowcount:
                raise AccountError(f"{name} is not in team {team!r}")

    def remove(self, name: str) -> None:
        """Forget the user and everything Murmeli holds about them, in one transaction."""
        with self._db.transaction() as connection:
            connection.execute(delete(app_passwords).where(app_passwords.c.user == name))
            connection.execute(delete(team_members).where(team_members.c.user == name))
            connection.execute(
                delete(shares).where(
                    (shares.c.owner == name)
                    | ((shares.c.target_kind == "user") & (shares.c.target_name == name))
                )
            )
            if not connection.execute(delete(users).where(users.c.name == name)).rowcount:
                raise AccountError(f"no such user {name!r}")

    def password_hash(self, name: str) -> str | None:
        with self._db.reader() as connection:
            return connection.execute(
                select(users.c.password_hash).where(users.c.name == name)
            ).scalar()

    def _change(self, name: str, **values: str) -> None:
        with self._db.transaction() as connection:
            if not connection.execute(
                update(users).where(users.c.name == name).values(**values)
            ).rowcount:
                raise AccountError(f"no such user {name!r}")

    @staticmethod
    def _join(connection, name: str, team: str) -> None:
        if connection.execute(select(teams.c.name).where(teams.c.name == team)).first() is None:
            connection.execute(insert(teams).values(name=team))
        exists = connection.execute(
            select(team_members).where(team_members.c.user == name, team_members.c.team == team)
        ).first()
        if exists is None:
            connection.execute(insert(team_members).values(team=team, user=name))
