"""Private keys at rest: AES-256-GCM wrapping under the key-encryption key (KEK).

The database never holds a private key in clear: each is stored as a random
96-bit nonce followed by its AES-256-GCM ciphertext and tag, with the address
and the key's version as associated data, so a wrapped key copied to another
address or replayed from an older row does not open. The KEK itself comes from
the configuration (a secret file or an environment variable), never from the
database. A check value wrapped under the same KEK lets start-up tell a wrong
KEK from a damaged key, and say so before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.loader import ConfigError
from crypto.settings import RelaySettings

KEK_SIZE = 32
NONCE_SIZE = 12
_PURPOSE = b"murmeli openpgp private key v1\0"
_CHECK_PURPOSE = b"murmeli openpgp kek check v1\0"
_CHECK_PLAINTEXT = b"the configured key-encryption key is the right one"


class KeyEncryptionKeyError(ConfigError):
    """The KEK is missing, malformed or not the one the keys were wrapped with."""


class UnwrapError(RuntimeError):
    """A wrapped key does not open under a KEK that passed the check: the row is damaged."""


class KeyWrapper:
    """Wraps and unwraps private keys under one KEK."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEK_SIZE:
            raise KeyEncryptionKeyError(
                f"the key-encryption key must be {KEK_SIZE} bytes, got {len(kek)}"
            )
        self._aead = AESGCM(kek)

    def wrap(self, address: str, key_version: int, private_key: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, private_key, _key_data(address, key_version))

    def unwrap(self, address: str, key_version: int, wrapped: bytes) -> bytes:
        try:
            return self._open(wrapped, _key_data(address, key_version))
        except InvalidTag:
            raise UnwrapError(
                f"the stored private key of {address} (version {key_version}) does not open "
                "under the key-encryption key: the row is damaged or was replaced"
            ) from None

    def check_value(self) -> bytes:
        nonce = secrets.token_bytes(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, _CHECK_PLAINTEXT, _CHECK_PURPOSE)

    def verify(self, check_value: bytes) -> None:
        """Raise ``KeyEncryptionKeyError`` unless ``check_value`` was made under this KEK."""
        try:
            self._open(check_value, _CHECK_PURPOSE)
        except InvalidTag:
            raise KeyEncryptionKeyError(
                "the configured key-encryption key (relay.kek_file or relay.kek_environment) "
                "is not the one the stored OpenPGP keys were wrapped with; "
                "refusing to start (use `rotate-kek` with the old key to change it)"
            ) from None

    def _open(self, wrapped: bytes, associated: bytes) -> bytes:
        return self._aead.decrypt(wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], associated)


def _key_data(address: str, key_version: int) -> bytes:
    return _PURPOSE + address.encode() + b"\0" + str(key_version).encode()


def kek_configured(settings: RelaySettings) -> bool:
    """Whether a KEK is set up at all (a server without one serves no OpenPGP keys)."""
    return settings.kek_file is not None or bool(os.environ.get(settings.kek_environment))


def load_kek(settings: RelaySettings) -> bytes:
    """The KEK from ``kek_file``, else from the ``kek_environment`` variable."""
    if settings.kek_file is not None:
        source = f"relay.kek_file {settings.kek_file}"
        try:
            encoded = settings.kek_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise KeyEncryptionKeyError(f"cannot read {source}: {error}") from None
    else:
        source = f"environment variable {settings.kek_environment}"
        encoded = os.environ.get(settings.kek_environment, "")
        if not encoded:
            raise KeyEncryptionKeyError(
                f"no key-encryption key: set relay.kek_file or the {source}"
            )
    return decode_kek(encoded, source)


def decode_kek(encoded: str, source: str) -> bytes:
    try:
        kek = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyEncryptionKeyError(f"{source}: expected base64 of {KEK_SIZE} bytes") from None
    if len(kek) != KEK_SIZE:
        raise KeyEncryptionKeyError(
            f"{source}: expected {KEK_SIZE} random bytes (base64), got {len(kek)} bytes"
        )
    return kek


def new_kek() -> str:
    """A fresh KEK, base64-encoded as the configuration expects it."""
    return base64.b64encode(secrets.token_bytes(KEK_SIZE)).decode("ascii")
