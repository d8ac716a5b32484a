"""Seals bytes under a password: Argon2id derives an AES-256-GCM key from it and a random salt.

Argon2id is slow on purpose (a fifth of a second and 64 MiB per guess here), so a stolen
database does not give its messages away to a password guesser. The KDF
parameters are kept beside each sealed text (``kdf``), so they can be raised
later without making older messages unreadable. The caller's ``context`` (the
message id) is authenticated with the text, so a sealed text cannot be moved
to another row. A wrong password and a tampered text look the same: the GCM
tag does not verify.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SALT_BYTES = 16
NONCE_BYTES = 12
_KDF = re.compile(r"^argon2id:t=(\d{1,2}):m=(\d{4,7}):p=(\d{1,2})$")


class WrongPassword(Exception):
    """The password does not open the sealed text (or the text was altered)."""


@dataclass(frozen=True)
class Argon2id:
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 2

    def __str__(self) -> str:
        return f"argon2id:t={self.time_cost}:m={self.memory_kib}:p={self.parallelism}"

    @classmethod
    def parse(cls, text: str) -> Argon2id:
        match = _KDF.match(text)
        if match is None:
            raise ValueError(f"unknown KDF parameters {text!r}")
        return cls(int(match[1]), int(match[2]), int(match[3]))

    def derive(self, password: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            password.encode(),
            salt,
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=32,
            type=Type.ID,
        )


@dataclass(frozen=True)
class Sealed:
    kdf: str
    salt: bytes
    sealed: bytes  # nonce + AES-256-GCM ciphertext and tag


def seal(plaintext: bytes, password: str, context: bytes, kdf: Argon2id = Argon2id()) -> Sealed:
    salt = os.urandom(SALT_BYTES)
    return Sealed(str(kdf), salt, seal_with_key(plaintext, kdf.derive(password, salt), context))


def seal_with_key(plaintext: bytes, key: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def derive_key(password: str, sealed: Sealed) -> bytes:
    return Argon2id.parse(sealed.kdf).derive(password, sealed.salt)


def unseal(sealed: bytes, key: bytes, context: bytes) -> bytes:
    """The plaintext, or ``WrongPassword``."""
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except InvalidTag:
        raise WrongPassword() from None
