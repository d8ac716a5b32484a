"""Radicale sharing database backend that presents Murmeli's shares as Radicale map shares.

Radicale asks "is this path a share for this user?" on every request. Only
paths shaped ``/<user>/<owner>~<collection>/...`` can be, so every other path
is answered without touching the database; ours costs nothing on plain traffic.
Shares are created through Murmeli (CLI and ``/api/shares``), so the write
half of Radicale's interface reports "not-implemented".
"""

from __future__ import annotations

from typing import Any

from radicale import config, sharing

from plugins.sharing.shares import (
    RADICALE_PERMISSIONS,
    SHARE_SEPARATOR,
    Received,
    Shares,
    Target,
)


def _split_user(user_with_groups: str) -> tuple[str, set[str]]:
    """Radicale passes ``user:group1,group2``."""
    name, _, groups = user_with_groups.partition(sharing.SHARING_SEPARATOR_GROUP)
    return name, {group for group in groups.split(",") if group}


class Sharing(sharing.BaseSharing):
    def __init__(self, configuration: config.Configuration, shares: Shares) -> None:
        self._shares = shares
        super().__init__(configuration)

    def database_init(self) -> bool:
        return True

    def database_get_info(self) -> dict:
        return {"type": "murmeli"}

    def database_verify(self) -> bool:
        return True

    def database_get_sharing(
        self,
        ShareType: str,
        PathOrToken: str,
        OnlyEnabled: bool = True,
        User: str | None = None,
    ) -> dict | None:
        if ShareType != "map" or not User:
            return None
        name, groups = _split_user(User)
        parts = PathOrToken.strip("/").split("/")
        if len(parts) != 2 or parts[0] != name or SHARE_SEPARATOR not in parts[1]:
            return None
        owner, collection = parts[1].split(SHARE_SEPARATOR, 1)
        found = self._shares.received_by(name, groups, f"/{owner}/{collection}/")
        if not found:
            return None
        [row] = self._with_titles([_row(found[0], name)])
        return {"mapped": True, "Hidden": False, **row}

    def database_list_sharing(
        self,
        OwnerOrUser: str | None = None,
        ShareType: str | None = None,
        PathOrToken: str | None = None,
        PathMapped: str | None = None,
        User: str | None = None,
        EnabledByOwner: bool | None = None,
        EnabledByUser: bool | None = None,
        HiddenByOwner: bool | None = None,
        HiddenByUser: bool | None = None,
        Conversion: str | None = None,
    ) -> list[dict]:
        if ShareType not in (None, "map") or HiddenByOwner or HiddenByUser:
            return []
        if EnabledByOwner is False or EnabledByUser is False:
            return []
        wanted = {"PathOrToken": PathOrToken, "PathMapped": PathMapped, "Conversion": Conversion}

        def matches(row: dict) -> bool:
            return all(value is None or row[key] == value for key, value in wanted.items())

        received, owned = self._rows(OwnerOrUser, User, PathMapped)
        titled = self._with_titles([row for row in received if matches(row)])
        return titled + [row for row in owned if matches(row)]

    def _rows(
        self, owner_or_user: str | None, user: str | None, path_mapped: str | None
    ) -> tuple[list[dict], list[dict]]:
        """Rows of the shares ``who`` received, and of those they (or anyone) made."""
        who = user or owner_or_user
        if not who:
            return [], [
                _owned_row(share) for share in self._shares.owned_by(collection=path_mapped)
            ]
        name, groups = _split_user(who)
        received = [_row(share, name) for share in self._shares.received_by(name, groups)]
        owned: list[dict] = []
        if user is None or user != owner_or_user:
            owned = [_owned_row(share) for share in self._shares.owned_by(name)]
        return received, owned

    def _with_titles(self, rows: list[dict]) -> list[dict]:
        """Name each collection after its owner too: the recipient has a "Calendar" of their own.
        The titles are read under one shared lock, taken only when there is a row to name."""
        if not rows:
            return rows
        with self._storage.acquire_lock("r"):
            titles = [self._title(row["PathMapped"]) for row in rows]
        for row, title in zip(rows, titles, strict=True):
            name = title or row["PathMapped"].strip("/").split("/")[-1]
            row["Properties"] = {"D:displayname": f"{name} ({row['Owner']})"}
        return rows

    def _title(self, path: str) -> str | None:
        collection = next(iter(self._storage.discover(path)), None)
        return collection.get_meta("D:displayname") if collection is not None else None

    def database_create_sharing(self, *args: Any, **kwargs: Any) -> dict:
        return {"status": "not-implemented"}

    def database_update_sharing(self, *args: Any, **kwargs: Any) -> dict:
        return {"status": "not-implemented"}

    def database_delete_sharing(self, *args: Any, **kwargs: Any) -> dict:
        return {"status": "not-implemented"}


def _row(received: Received, recipient: str) -> dict:
    return _base_row(
        received.mapped_path(recipient),
        received.collection,
        received.owner,
        recipient,
        received.access,
    )


def _owned_row(share) -> dict:
    target: Target = share.target
    if target.kind == "user":
        user = target.name
        path = Received(share.collection, share.owner, share.access).mapped_path(user)
    else:
        user = sharing.SHARING_SEPARATOR_GROUP + (target.name or "org")
        path = Received(share.collection, share.owner, share.access).mapped_path("{user}")
    return _base_row(path, share.collection, share.owner, user, share.access)


def _base_row(path: str, mapped: str, owner: str, user: str, access: str) -> dict:
    return {
        "ShareType": "map",
        "PathOrToken": path,
        "PathMapped": mapped,
        "Owner": owner,
        "User": user,
        "Permissions": RADICALE_PERMISSIONS[access],
        "EnabledByOwner": True,
        "EnabledByUser": True,
        "HiddenByOwner": False,
        "HiddenByUser": False,
        "TimestampCreated": 0,
        "TimestampUpdated": 0,
        "Properties": {},
        "Conversion": "none",
        "Actions": {},
    }
