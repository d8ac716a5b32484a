"""Slow hashes for stored passwords and unguessable generated ones.

Argon2id (argon2-cffi's defaults) makes a stolen database expensive to attack;
generated app passwords carry 130 bits from ``secrets``.
"""

import base64
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_app_password() -> str:
    """26 base32 letters (130 bits) in groups of four, easy to type on a phone."""
    raw = base64.b32encode(secrets.token_bytes(17)).decode().lower().rstrip("=")[:26]
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_id() -> str:
    return secrets.token_hex(8)
