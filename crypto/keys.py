"""Every address's OpenPGP key: made on first use, stored wrapped, cached unwrapped.

The private key is stored unprotected by OpenPGP (no passphrase: PGPy's
``protect``/``unlock`` costs ~210 ms each, too much per message) but wrapped
with AES-256-GCM under the key-encryption key (``crypto/wrapping.py``), which
is the protection at rest. Unwrapped keys are kept in memory for the life of
the process. The public key is stored in clear, so listing keys and serving
them needs no KEK.

Opening a ``KeyStore`` verifies the KEK against the stored check value (and
stores one on first start), so a wrong KEK stops start-up before any key is
made under it. ``rotate_kek`` re-wraps every key in one transaction.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from crypto import openpgp
from crypto.armor import ArmorError, armor, unarmor
from crypto.openpgp import PGPUID, PGPKey
from crypto.wrapping import KeyWrapper
from davserver.database import Database
from davserver.tables import openpgp_kek_check, openpgp_keys

_ADDRESS = re.compile(r"^[^@\s<>\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_CHECK_ROW = 1
MIN_PASSPHRASE = 8


class KeyStoreError(ValueError):
    """A request about keys that cannot be met; the text names the address or field."""


@dataclass(frozen=True)
class StoredKey:
    address: str
    fingerprint: str
    created_at: int


def normalise_address(address: str) -> str:
    """The address as keys are filed: trimmed and lower-cased.

    Local parts are case-sensitive in theory, but every mail system in use
    treats them as not; two keys for ``Ann@`` and ``ann@`` would split a mailbox.
    """
    cleaned = address.strip().lower()
    if not _ADDRESS.match(cleaned):
        raise KeyStoreError(f"not an e-mail address: {address!r}")
    return cleaned


def carries_address(key: PGPKey, address: str) -> bool:
    """Whether one of the key's user IDs is ``address`` (compared as keys are filed):
    ``Name <address>``, or the bare address as GnuPG's ``--quick-generate-key`` and
    Murmeli write it."""
    return any(user_id_is(uid, address) for uid in key.userids)


def user_id_is(uid: PGPUID, address: str) -> bool:
    return (uid.email or uid.name or "").strip().lower() == address.strip().lower()


def parse_key_data(data: str | bytes) -> PGPKey:
    """A key from armored or binary data; ``KeyStoreError`` naming what is wrong."""
    blob = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if b"-----BEGIN PGP" in blob:
        kind = "PRIVATE KEY BLOCK" if b"BEGIN PGP PRIVATE KEY" in blob else "PUBLIC KEY BLOCK"
        try:
            blob = unarmor(blob, kind)
        except ArmorError as error:
            raise KeyStoreError(f"key: {error}") from None
    try:
        return openpgp.parse_key(blob)
    except ValueError as error:
        raise KeyStoreError(f"key: {error}") from None


class KeyStore:
    def __init__(self, database: Database, kek: bytes) -> None:
        self._database = database
        self._wrapper = KeyWrapper(kek)
        self._cache: dict[str, PGPKey] = {}
        self._lock = threading.Lock()
        try:
            with database.transaction() as connection:
                _verify_or_store_check(connection, self._wrapper)
        except IntegrityError:
            # Another process stored the first check value at the same moment.
            with database.transaction() as connection:
                _verify_or_store_check(connection, self._wrapper)

    def private_key(self, address: str) -> PGPKey:
        """The unwrapped key of ``address``, made and stored on first use."""
        address = normalise_address(address)
        key = self._cache.get(address)
        if key is None:
            with self._lock:
                key = self._cache.get(address) or self._load_or_create(address)
                self._cache[address] = key
        return key

    def public_key(self, address: str) -> PGPKey:
        return self.private_key(address).pubkey

    def export_public(self, address: str) -> str:
        return openpgp.armored_public_key(self.private_key(address))

    def export_private(self, address: str, passphrase: str) -> str:
        """The private key, armored and protected with the passphrase its owner chose."""
        if len(passphrase) < MIN_PASSPHRASE:
            raise KeyStoreError(f"passphrase: at least {MIN_PASSPHRASE} characters")
        # A fresh copy: protecting must not touch the cached, unprotected key.
        copy = openpgp.parse_key(bytes(self.private_key(address)))
        copy.protect(passphrase, openpgp.CIPHERS[0], openpgp.HASHES[0])
        return armor("PRIVATE KEY BLOCK", bytes(copy))

    def import_private(
        self, address: str, data: str | bytes, passphrase: str | None, replace: bool = False
    ) -> StoredKey:
        """Make an existing key pair the key of ``address`` (a person moving to Murmeli).

        The key must carry a user ID with the address and be usable for
        encryption. Its OpenPGP protection is removed (the KEK wrapping protects
        it at rest, as for keys made here). An address that has a key already
        keeps it unless ``replace``: mail encrypted to that key would no longer
        open through Murmeli.
        """
        address = normalise_address(address)
        key = _unprotected(_importable(address, parse_key_data(data)), passphrase)
        with self._lock:
            current = self._load(address)
            if current is not None and not replace:
                raise KeyStoreError(
                    f"{address} already has the key {openpgp.fingerprint(current)}: mail encrypted "
                    "to it would no longer open here; export it first, then import with replace"
                )
            stored = self._save(address, key)
            self._cache[address] = key
        return stored

    def stored(self) -> list[StoredKey]:
        query = select(
            openpgp_keys.c.address, openpgp_keys.c.fingerprint, openpgp_keys.c.created_at
        ).order_by(openpgp_keys.c.address)
        with self._database.reader() as connection:
            return [StoredKey(*row) for row in connection.execute(query)]

    def _load_or_create(self, address: str) -> PGPKey:
        key = self._load(address)
        if key is not None:
            return key
        key = openpgp.new_key(address)
        values = self._values(address, 1, key, int(time.time()))
        try:
            with self._database.transaction() as connection:
                # A KEK rotated since start-up must not wrap new keys: check again.
                _verify_or_store_check(connection, self._wrapper)
                connection.execute(insert(openpgp_keys).values(address=address, **values))
        except IntegrityError:
            # Another process made the key first: theirs is the one mail was encrypted to.
            return self._load(address)
        return key

    def _save(self, address: str, key: PGPKey) -> StoredKey:
        """Store ``key`` for ``address``, replacing any key it had under the next version."""
        stored = StoredKey(address, openpgp.fingerprint(key), int(time.time()))
        current = select(openpgp_keys.c.key_version).where(openpgp_keys.c.address == address)
        try:
            with self._database.transaction() as connection:
                _verify_or_store_check(connection, self._wrapper)
                version = (connection.execute(current).scalar() or 0) + 1
                values = self._values(address, version, key, stored.created_at)
                if version == 1:
                    connection.execute(insert(openpgp_keys).values(address=address, **values))
                else:
                    connection.execute(
                        update(openpgp_keys)
                        .where(openpgp_keys.c.address == address)
                        .values(**values)
                    )
        except IntegrityError:
            raise KeyStoreError(
                f"the key {stored.fingerprint} is already the key of another address"
            ) from None
        return stored

    def _values(self, address: str, version: int, key: PGPKey, created_at: int) -> dict:
        """The stored form of ``key``: public half in clear, private half wrapped."""
        return {
            "fingerprint": openpgp.fingerprint(key),
            "key_version": version,
            "public_key": bytes(key.pubkey),
            "wrapped_private_key": self._wrapper.wrap(address, version, bytes(key)),
            "created_at": created_at,
        }

    def _load(self, address: str) -> PGPKey | None:
        query = select(openpgp_keys.c.key_version, openpgp_keys.c.wrapped_private_key).where(
            openpgp_keys.c.address == address
        )
        with self._database.reader() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        unwrapped = self._wrapper.unwrap(address, row.key_version, row.wrapped_private_key)
        return openpgp.parse_key(unwrapped)


def _importable(address: str, key: PGPKey) -> PGPKey:
    if key.is_public:
        raise KeyStoreError("key: that is a public key; importing a key pair needs its private key")
    if not carries_address(key, address):
        raise KeyStoreError(f"key: it has no user ID with the address {address}")
    try:
        openpgp.check_deliverable(key.pubkey)
    except openpgp.UndeliverableKey as error:
        raise KeyStoreError(f"key: {error}") from None
    return key


def _unprotected(key: PGPKey, passphrase: str | None) -> PGPKey:
    if not key.is_protected:
        return key
    if passphrase is None:
        raise KeyStoreError("passphrase: the key is protected; give its passphrase")
    try:
        return openpgp.without_passphrase(key, passphrase)
    except openpgp.WrongPassphrase:
        raise KeyStoreError("passphrase: it does not unlock the key") from None


def stored_public_key(database: Database, address: str) -> PGPKey | None:
    """The public key stored for ``address``, or None: never makes one, and needs no KEK
    (the public half is stored in clear)."""
    query = select(openpgp_keys.c.public_key).where(
        openpgp_keys.c.address == normalise_address(address)
    )
    with database.reader() as connection:
        public_key = connection.execute(query).scalar()
    return None if public_key is None else openpgp.parse_key(public_key)


def rotate_kek(database: Database, old_kek: bytes, new_kek: bytes) -> int:
    """Re-wrap every key from ``old_kek`` to ``new_kek`` in one transaction; the number re-wrapped.

    Every key is unwrapped before anything is written, so a key that does not
    open under ``old_kek`` stops the rotation with nothing changed.
    """
    old, new = KeyWrapper(old_kek), KeyWrapper(new_kek)
    with database.transaction() as connection:
        _verify_or_store_check(connection, old)
        rows = list(_rows(connection))
        rewrapped = [
            (address, version + 1, new.wrap(address, version + 1, old.unwrap(address, version, k)))
            for address, version, k in rows
        ]
        for address, version, blob in rewrapped:
            connection.execute(
                update(openpgp_keys)
                .where(openpgp_keys.c.address == address)
                .values(key_version=version, wrapped_private_key=blob)
            )
        connection.execute(
            update(openpgp_kek_check)
            .where(openpgp_kek_check.c.id == _CHECK_ROW)
            .values(check_value=new.check_value())
        )
    return len(rewrapped)


def _rows(connection: Connection) -> Iterator[tuple[str, int, bytes]]:
    query = select(
        openpgp_keys.c.address, openpgp_keys.c.key_version, openpgp_keys.c.wrapped_private_key
    )
    for row in connection.execute(query):
        yield row.address, row.key_version, row.wrapped_private_key


def _verify_or_store_check(connection: Connection, wrapper: KeyWrapper) -> None:
    query = select(openpgp_kek_check.c.check_value).where(openpgp_kek_check.c.id == _CHECK_ROW)
    check_value = connection.execute(query).scalar()
    if check_value is None:
        connection.execute(
            insert(openpgp_kek_check).values(id=_CHECK_ROW, check_value=wrapper.check_value())
        )
    else:
        wrapper.verify(check_value)
