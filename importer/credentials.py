"""Source passwords at rest: AES-256-GCM under a key kept in a file, never in the database.

A job must keep its source password until it ends (the daemon may restart in
between), so the password is stored sealed: a random 96-bit nonce, then the
ciphertext and tag, with the job id (and which password it is) as associated
data, so a sealed value copied to another job or column does not open. The
key file is created on first use with mode 0600; a database dump or backup
alone reveals no password.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from davserver.private_files import private_folder

NONCE_SIZE = 12
KEY_BITS = 256


class CredentialError(RuntimeError):
    """The key file is unusable or a sealed password does not open; the text says which."""


class Credentials:
    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        self._cipher: AESGCM | None = None

    def seal(self, job: str, purpose: str, password: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_SIZE)
        return nonce + self._aead().encrypt(nonce, password.encode(), _associated(job, purpose))

    def open(self, job: str, purpose: str, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:]
        try:
            return self._aead().decrypt(nonce, ciphertext, _associated(job, purpose)).decode()
        except InvalidTag:
            raise CredentialError(
                f"the stored {purpose} password of job {job} does not open with {self.key_file} "
                "(key replaced?)"
            ) from None

    def _aead(self) -> AESGCM:
        if self._cipher is None:
            self._cipher = AESGCM(self._key())
        return self._cipher

    def _key(self) -> bytes:
        if not self.key_file.exists():
            _create_key(self.key_file)
        try:
            key = base64.b64decode(self.key_file.read_text(encoding="ascii").strip(), validate=True)
        except (OSError, ValueError) as error:
            raise CredentialError(f"cannot read the key file {self.key_file}: {error}") from None
        if len(key) * 8 != KEY_BITS:
            raise CredentialError(f"{self.key_file} does not hold a {KEY_BITS}-bit key")
        return key


def _associated(job: str, purpose: str) -> bytes:
    return f"{job}/{purpose}".encode()


def _create_key(key_file: Path) -> None:
    """Written whole under a temporary name, then linked: a racing process sees no half key,
    and the loser of the race keeps the winner's key."""
    private_folder(key_file.parent)
    descriptor, temporary = tempfile.mkstemp(dir=key_file.parent, prefix=".importer-key-")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(AESGCM.generate_key(KEY_BITS)).decode() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temporary, key_file)
    finally:
        os.unlink(temporary)
