"""Public keys of outside recipients: each user's own keyring, then the Web Key Directory.

A key one user imported is used only for mail that user sends: another user
cannot make Murmeli encrypt their mail to a key of someone else's choosing.
Addresses of Murmeli users are not accepted here; their keys are the
``KeyStore``'s. A stored key is returned as imported: if it has since expired
or been revoked, ``openpgp.encrypt`` refuses it (fail closed) instead of this
lookup quietly falling back to something else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select

from crypto import openpgp
from crypto.keys import KeyStoreError, carries_address, normalise_address, parse_key_data
from crypto.openpgp import PGPKey, UndeliverableKey
from crypto.settings import RelaySettings
from crypto.wkd import WkdClient, WkdOptions
from davserver.accounts.directory import Directory
from davserver.database import Database, upsert
from davserver.tables import openpgp_recipient_keys as table

_PARSED_LIMIT = 1_000


@dataclass(frozen=True)
class RecipientKey:
    address: str
    fingerprint: str
    created_at: int


class RecipientKeys:
    def __init__(
        self, database: Database, directory: Directory, wkd: WkdClient | None = None
    ) -> None:
        self._database = database
        self._directory = directory
        self._wkd = wkd
        # Stored key -> parsed key. Parsing costs ~0.5 ms a message, and the same key
        # object lets ``openpgp`` keep what it read of it; a replaced key is other bytes.
        self._parsed: dict[bytes, PGPKey] = {}

    def find(self, sender: str, address: str) -> PGPKey | None:
        """The key of outside ``address`` for mail from ``sender``: the sender's account's
        imported key, else (when enabled) the recipient domain's WKD, else None."""
        address = normalise_address(address)
        owner = self._directory.find_by_address(sender)
        if owner is not None:
            query = select(table.c.public_key).where(
                table.c.owner == owner.name, table.c.address == address
            )
            with self._database.reader() as connection:
                stored = connection.execute(query).scalar()
            if stored is not None:
                return self._parse(stored)
        return self._wkd.find(address) if self._wkd is not None else None

    def _parse(self, stored: bytes) -> PGPKey:
        key = self._parsed.get(stored)
        if key is None:
            if len(self._parsed) >= _PARSED_LIMIT:
                self._parsed.clear()
            key = self._parsed[stored] = openpgp.parse_key(stored)
        return key

    def add(self, owner: str, address: str, armored: str | bytes) -> RecipientKey:
        """Import (or replace) ``owner``'s key for outside ``address``; refused with
        ``KeyStoreError`` unless it is a public key for that address one can encrypt to."""
        address = normalise_address(address)
        name = self._directory.get(owner).name
        if self._directory.find_by_address(address) is not None:
            raise KeyStoreError(
                f"{address} belongs to a Murmeli user: Murmeli manages that key itself"
            )
        key = _public_key_for(address, armored)
        entry = RecipientKey(address, openpgp.fingerprint(key), int(time.time()))
        with self._database.transaction() as connection:
            upsert(
                connection,
                table,
                {"owner": name, "address": address},
                {"fingerprint": entry.fingerprint, "public_key": bytes(key)},
                {"created_at": entry.created_at},
            )
        return entry

    def remove(self, owner: str, address: str) -> None:
        address = normalise_address(address)
        query = delete(table).where(table.c.owner == owner, table.c.address == address)
        with self._database.transaction() as connection:
            if not connection.execute(query).rowcount:
                raise KeyStoreError(f"no imported key for {address}")

    def list(self, owner: str) -> list[RecipientKey]:
        query = (
            select(table.c.address, table.c.fingerprint, table.c.created_at)
            .where(table.c.owner == owner)
            .order_by(table.c.address)
        )
        with self._database.reader() as connection:
            return [RecipientKey(*row) for row in connection.execute(query)]


def _public_key_for(address: str, data: str | bytes) -> PGPKey:
    key = parse_key_data(data)
    if not key.is_public:
        raise KeyStoreError("key: that is a private key; import the recipient's public key instead")
    if not carries_address(key, address):
        raise KeyStoreError(f"key: it has no user ID with the address {address}")
    try:
        openpgp.check_deliverable(key)
    except UndeliverableKey as error:
        raise KeyStoreError(f"key: {error}") from None
    return key


def wkd_client(settings: RelaySettings) -> WkdClient | None:
    """The WKD client the ``relay`` section asks for, or None when lookups are off."""
    if not settings.wkd_lookup:
        return None
    return WkdClient(
        WkdOptions(
            timeout=settings.wkd_timeout,
            cache_seconds=settings.wkd_cache,
            ca_file=settings.wkd_ca_file,
            connect_to=settings.wkd_connect_to,
        )
    )
