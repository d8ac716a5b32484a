"""Uploaded files waiting for their commit: kept in the data folder, owner-only, for an hour.

Each upload is two files named by a random id (128 bits): the file as sent
(``.data``) and what to do with it (``.json``: owner, address book, options).
Nothing else keeps them: the folder is readable by Murmeli's user only, and
every access first removes what has expired.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LIFETIME = 3600
_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


@dataclass(frozen=True)
class Pending:
    id: str
    owner: str
    addressbook: str
    new_addressbook: str | None
    kind: str | None
    options: dict  # CsvOptions fields
    all_or_nothing: bool
    created_at: float  # the import group is named by it


class PendingImports:
    def __init__(self, folder: Path, lifetime: int = LIFETIME) -> None:
        self._folder = folder
        self._lifetime = lifetime

    def add(self, raw: bytes, **fields) -> Pending:
        self._purge()
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        pending = Pending(id=secrets.token_urlsafe(16), created_at=time.time(), **fields)
        self._write(f"{pending.id}.data", raw)
        self._write(f"{pending.id}.json", json.dumps(asdict(pending)).encode())
        return pending

    def get(self, owner: str, import_id: str) -> tuple[Pending, bytes] | None:
        """The upload and its file, or None when unknown, expired or someone else's."""
        self._purge()
        if not _ID.match(import_id):
            return None
        try:
            pending = Pending(**json.loads((self._folder / f"{import_id}.json").read_bytes()))
            raw = (self._folder / f"{import_id}.data").read_bytes()
        except (FileNotFoundError, ValueError, TypeError):
            return None
        if pending.owner != owner:
            return None
        return pending, raw

    def expires_in(self, pending: Pending) -> int:
        """Seconds left before the upload is removed."""
        return max(0, int(pending.created_at + self._lifetime - time.time()))

    def remove(self, import_id: str) -> None:
        if _ID.match(import_id):
            for suffix in (".json", ".data"):
                (self._folder / f"{import_id}{suffix}").unlink(missing_ok=True)

    def _write(self, name: str, content: bytes) -> None:
        descriptor = os.open(self._folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)

    def _purge(self) -> None:
        if not self._folder.is_dir():
            return
        limit = time.time() - self._lifetime
        for path in self._folder.iterdir():
            try:
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
