"""Stored forms of passwords, and unguessable generated ones.

Passwords people choose are stored as Argon2id (argon2-cffi's defaults): a
stolen database is expensive to attack. App passwords are generated with 130
bits from ``secrets``; no guessing attack reaches that, so they are stored as a
SHA-256 digest (as access tokens are), which lets a device's login be checked
with one indexed lookup instead of a 0.1 s Argon2 run per process.
"""

import base64
import hashlib
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


def app_password_digest(password: str) -> str:
    return "sha256:" + hashlib.sha256(password.encode()).hexdigest()


def new_link_token() -> str:
    """256 random bits, URL-safe: the only credential of a link sent by email."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """How a link token is stored and looked up: its SHA-256, so the database opens no link."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_hex(8)
