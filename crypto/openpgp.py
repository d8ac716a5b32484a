"""The OpenPGP operations of the relay, on PGPy, kept to what GnuPG 2.2 reads.

Keys are Ed25519 (sign, certify) with a Curve25519 ECDH encryption subkey and
advertise only AES-256/AES-128, SHA-256/SHA-512 and the MDC feature: no
AEAD/SEIPDv2, so no peer library is tempted into packets GnuPG 2.2 cannot
open. Messages are SEIPDv1 (CFB with MDC), uncompressed: compression would cost
more CPU than it saves for mail already mostly base64.

Decryption refuses data without an MDC (PGPy would decrypt it: PGPy issue
#461), since such a packet can be altered undetected.

PGPy builds its table of every cipher on each call, including ciphers that
``cryptography`` has deprecated (TripleDES, Camellia, CFB): those warnings are
filtered here by category and origin, and ``tests/test_crypto_openpgp.py``
proves the round trip still works with the installed ``cryptography``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from cryptography.utils import CryptographyDeprecationWarning

warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"pgpy\b")
# RFC 9580 requires AES-128 of every implementation: using it for a key that
# does not list it is safe, and PGPy's warning about it says nothing more.
warnings.filterwarnings("ignore", "Selected symmetric algorithm not in key preferences")

import pgpy  # noqa: E402 - after the filters, which cover warnings raised on import
from pgpy.constants import (  # noqa: E402
    CompressionAlgorithm,
    EllipticCurveOID,
    HashAlgorithm,
    KeyFlags,
    PubKeyAlgorithm,
    SymmetricKeyAlgorithm,
)
from pgpy.errors import PGPError  # noqa: E402
from pgpy.packet.packets import IntegrityProtectedSKEData  # noqa: E402

from crypto.armor import armor, unarmor  # noqa: E402

PGPKey = pgpy.PGPKey
CIPHERS = (SymmetricKeyAlgorithm.AES256, SymmetricKeyAlgorithm.AES128)
HASHES = (HashAlgorithm.SHA256, HashAlgorithm.SHA512)
_ENCRYPTION = {KeyFlags.EncryptCommunications, KeyFlags.EncryptStorage}


class UndeliverableKey(ValueError):
    """No key usable for encryption to a recipient: the message must not go out in clear."""


class DecryptionRefused(ValueError):
    """The data cannot be decrypted safely with this key (not ours, damaged, or without MDC)."""


def new_key(address: str) -> PGPKey:
    """A fresh, unprotected key for ``address``: Ed25519 primary, Cv25519 encryption subkey."""
    key = pgpy.PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
    key.add_uid(
        pgpy.PGPUID.new(address),
        usage={KeyFlags.Sign, KeyFlags.Certify},
        hashes=list(HASHES),
        ciphers=list(CIPHERS),
        compression=[CompressionAlgorithm.Uncompressed, CompressionAlgorithm.ZLIB],
        primary=True,
    )
    subkey = pgpy.PGPKey.new(PubKeyAlgorithm.ECDH, EllipticCurveOID.Curve25519)
    key.add_subkey(subkey, usage=_ENCRYPTION)
    return key


def parse_key(data: bytes | str) -> PGPKey:
    """A key from binary or armored data; ``ValueError`` if it is not one."""
    try:
        key, _ = pgpy.PGPKey.from_blob(data)
    except (PGPError, ValueError, TypeError, IndexError) as error:
        raise ValueError(f"not an OpenPGP key: {error}") from None
    return key


def armored_public_key(key: PGPKey) -> str:
    return armor("PUBLIC KEY BLOCK", bytes(key.pubkey if not key.is_public else key))


def check_deliverable(key: PGPKey) -> None:
    """Raise ``UndeliverableKey`` unless PGPy would encrypt to a valid, current (sub)key."""
    name = _name(key)
    if key.is_expired:
        raise UndeliverableKey(f"the key of {name} has expired")
    if any(True for _ in key.revocation_signatures):
        raise UndeliverableKey(f"the key of {name} is revoked")
    # PGPy encrypts to the first key whose flags allow it, primary first.
    for candidate in (key, *key.subkeys.values()):
        if _ENCRYPTION & set(candidate._get_key_flags()):
            if candidate.is_expired:
                raise UndeliverableKey(f"the encryption subkey of {name} has expired")
            return
    raise UndeliverableKey(f"the key of {name} has no encryption subkey")


def encrypt(data: bytes, recipients: Sequence[PGPKey]) -> bytes:
    """``data`` as one binary OpenPGP message (SEIPDv1 + MDC) readable by every recipient."""
    if not recipients:
        raise UndeliverableKey("no recipient key to encrypt to")
    public_keys = [key if key.is_public else key.pubkey for key in recipients]
    for key in public_keys:
        check_deliverable(key)
    cipher = _common_cipher(public_keys)
    session_key = cipher.gen_key()
    # Binary literal data ("b"): PGPy would guess text mode for text-like data,
    # and GnuPG then rewrites the CRLF line ends of the MIME entity on output.
    message = pgpy.PGPMessage.new(data, format="b", compression=CompressionAlgorithm.Uncompressed)
    for key in public_keys:
        message = key.encrypt(message, cipher=cipher, sessionkey=session_key)
    return bytes(message)


def decrypt(data: bytes, key: PGPKey) -> bytes:
    """The literal data of an encrypted message (binary or armored) for our private ``key``."""
    if data.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----"):
        data = unarmor(data, "MESSAGE")
    try:
        message = pgpy.PGPMessage.from_blob(data)
    except (PGPError, ValueError, TypeError, IndexError) as error:
        raise DecryptionRefused(f"not an OpenPGP message: {error}") from None
    if not message.is_encrypted:
        raise DecryptionRefused("the message is not encrypted")
    if not isinstance(message.message, IntegrityProtectedSKEData):
        raise DecryptionRefused(
            "the message has no integrity protection (MDC): refusing to decrypt it"
        )
    try:
        plain = key.decrypt(message)
    except PGPError as error:
        raise DecryptionRefused(f"cannot decrypt with the key of {_name(key)}: {error}") from None
    content = plain.message
    return content.encode() if isinstance(content, str) else bytes(content)


def _common_cipher(keys: Sequence[PGPKey]) -> SymmetricKeyAlgorithm:
    """The strongest of AES-256/AES-128 every recipient lists, else AES-128 (RFC 9580 MUST)."""
    for cipher in CIPHERS:
        if all(cipher in _preferences(key) for key in keys):
            return cipher
    return SymmetricKeyAlgorithm.AES128


def _preferences(key: PGPKey) -> list[SymmetricKeyAlgorithm]:
    uid = next(iter(key.userids), None)
    return list(uid.selfsig.cipherprefs) if uid is not None and uid.selfsig else []


def _name(key: PGPKey) -> str:
    uid = next(iter(key.userids), None)
    return (uid.email or uid.name) if uid is not None else key.fingerprint.keyid
