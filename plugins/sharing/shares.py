"""Who may see which collection: the share records and the effective rights they give.

A user may be reached by several shares of one collection (directly, through a
team, through the organisation); the strongest one wins. Externals are never
in the organisation group, so organisation-wide shares skip them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select

from davserver.accounts.directory import (
    ORGANISATION_GROUP,
    AccountError,
    Directory,
    check_team_name,
)
from davserver.collections import checked_path
from davserver.database import Database, upsert
from davserver.tables import shares, teams

SHARE_SEPARATOR = "~"
# Weakest first: when several shares reach one person, the later one wins.
ACCESS_LEVELS = ("freebusy", "read", "write")
RADICALE_PERMISSIONS = {"freebusy": "f", "read": "r", "write": "rw"}


def check_access(access: str) -> str:
    if access not in ACCESS_LEVELS:
        raise AccountError(f"invalid access {access!r}: expected one of {', '.join(ACCESS_LEVELS)}")
    return access


@dataclass(frozen=True)
class Target:
    kind: str  # "user", "group" or "org"
    name: str

    @classmethod
    def parse(cls, text: str) -> Target:
        """``alice``, ``group:TEAM`` or ``org``."""
        if text == ORGANISATION_GROUP:
            return cls("org", "")
        if text.startswith("group:"):
            return cls("group", check_team_name(text.removeprefix("group:")))
        if not text or ":" in text:
            raise AccountError(f"invalid share target {text!r}: expected USER, group:TEAM or org")
        return cls("user", text)

    def __str__(self) -> str:
        return {"org": ORGANISATION_GROUP, "group": f"group:{self.name}"}.get(self.kind, self.name)


@dataclass(frozen=True)
class Share:
    collection: str
    owner: str
    target: Target
    access: str

    def as_json(self) -> dict:
        return {
            "collection": self.collection,
            "owner": self.owner,
            "with": str(self.target),
            "access": self.access,
        }


@dataclass(frozen=True)
class Received:
    """A collection as one recipient sees it, with the strongest right any share gives."""

    collection: str
    owner: str
    access: str

    def mapped_path(self, recipient: str) -> str:
        name = self.collection.strip("/").split("/", 1)[1]
        return f"/{recipient}/{self.owner}{SHARE_SEPARATOR}{name}/"


def collection_owner(collection: str) -> str:
    """The owner named by ``/OWNER/COLLECTION/``; anything else is refused."""
    parts = collection.strip("/").split("/")
    if not collection.startswith("/") or len(parts) != 2 or not all(parts):
        raise AccountError(f"invalid collection {collection!r}: expected /OWNER/COLLECTION/")
    if SHARE_SEPARATOR in parts[1]:
        raise AccountError(f"{collection!r} is itself a share and cannot be shared again")
    return parts[0]


def normalise_collection(collection: str) -> str:
    return checked_path("/" + collection.strip("/") + "/")


class Shares:
    def __init__(self, database: Database, directory: Directory) -> None:
        self._db = database
        self._directory = directory

    def add(self, collection: str, target: Target, access: str) -> Share:
        return self.add_each(collection, (target,), access)[0]

    def add_each(self, collection: str, targets: Sequence[Target], access: str) -> list[Share]:
        """Share with every target, or (one refused) with none."""
        check_access(access)
        collection = normalise_collection(collection)
        owner = collection_owner(collection)
        for target in targets:
            self._check_target(owner, target)
        with self._db.transaction() as connection:
            for target in targets:
                key = {
                    "collection": collection,
                    "target_kind": target.kind,
                    "target_name": target.name,
                }
                upsert(
                    connection,
                    shares,
                    key,
                    {"access": access},
                    {"owner": owner, "created_at": int(time.time())},
                )
        return [Share(collection, owner, target, access) for target in targets]

    def remove(self, collection: str, target: Target) -> None:
        self.remove_each(collection, (target,))

    def remove_each(self, collection: str, targets: Sequence[Target]) -> None:
        """Stop sharing with every target, or (one not shared with) with none."""
        collection = normalise_collection(collection)
        with self._db.transaction() as connection:
            for target in targets:
                removed = connection.execute(delete(shares).where(*self._key(collection, target)))
                if not removed.rowcount:
                    raise AccountError(f"{collection} is not shared with {target}")

    def owned_by(self, owner: str | None = None, collection: str | None = None) -> list[Share]:
        query = select(shares).order_by(
            shares.c.collection, shares.c.target_kind, shares.c.target_name
        )
        if owner is not None:
            query = query.where(shares.c.owner == owner)
        if collection is not None:
            query = query.where(shares.c.collection == collection)
        with self._db.reader() as connection:
            return [
                Share(
                    row.collection,
                    row.owner,
                    Target(row.target_kind, row.target_name),
                    row.access,
                )
                for row in connection.execute(query)
            ]

    def received_by(
        self, user: str, groups: set[str], collection: str | None = None
    ) -> list[Received]:
        reaches = [and_(shares.c.target_kind == "user", shares.c.target_name == user)]
        team_names = sorted(groups - {ORGANISATION_GROUP})
        if team_names:
            reaches.append(
                and_(shares.c.target_kind == "group", shares.c.target_name.in_(team_names))
            )
        if ORGANISATION_GROUP in groups:
            reaches.append(shares.c.target_kind == "org")
        query = select(shares.c.collection, shares.c.owner, shares.c.access).where(
            or_(*reaches), shares.c.owner != user
        )
        if collection is not None:
            query = query.where(shares.c.collection == collection)
        strongest: dict[str, Received] = {}
        with self._db.reader() as connection:
            for row in connection.execute(query):
                known = strongest.get(row.collection)
                rank = ACCESS_LEVELS.index(row.access)
                if known is None or rank > ACCESS_LEVELS.index(known.access):
                    strongest[row.collection] = Received(row.collection, row.owner, row.access)
        return sorted(strongest.values(), key=lambda received: received.collection)

    def _check_target(self, owner: str, target: Target) -> None:
        if target.kind == "user":
            recipient = self._directory.get(target.name)
            if recipient.name == owner:
                raise AccountError("a collection cannot be shared with its owner")
        if target.kind == "group":
            with self._db.reader() as connection:
                if (
                    connection.execute(select(teams).where(teams.c.name == target.name)).first()
                    is None
                ):
                    raise AccountError(f"no such team {target.name!r}")

    @staticmethod
    def _key(collection: str, target: Target) -> tuple:
        return (
            shares.c.collection == collection,
            shares.c.target_kind == target.kind,
            shares.c.target_name == target.name,
        )
