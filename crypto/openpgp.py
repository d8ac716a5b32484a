"""The OpenPGP operations of the relay, on PGPy (as its maintained fork PGPym, which
runs on Python 3.13), kept to what GnuPG 2.2 reads.

Keys are Ed25519 (sign, certify) with a Curve25519 ECDH encryption subkey and
advertise only AES-256/AES-128, SHA-256/SHA-512 and the MDC feature: no
AEAD/SEIPDv2, so no peer library is tempted into packets GnuPG 2.2 cannot
open. Messages are SEIPDv1 (CFB with MDC), uncompressed: compression would cost
more CPU than it saves for mail already mostly base64.

Encrypting goes through PGPy's packets directly: ``PGPKey.encrypt`` recomputes
the key's fingerprint (a SHA-1 of its serialised packet) and reads its
self-signatures ~36 times per message, for the same answers each time. What
encrypting to a key needs (its encryption subkey, key ID, preferences, expiry)
is read once per key object and kept (``_target``); the packets written are
those ``PGPKey.encrypt`` writes.

Decryption refuses data without an MDC (PGPy would decrypt it: PGPy issue
#461), since such a packet can be altered undetected.

PGPy builds its table of every cipher on each call, including ciphers that
``cryptography`` has deprecated (TripleDES, Camellia, CFB): those warnings are
filtered here by category and origin, and ``tests/test_crypto_openpgp.py``
proves the round trip still works with the installed ``cryptography``.
"""

from __future__ import annotations

import binascii
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.utils import CryptographyDeprecationWarning

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
from pgpy.errors import PGPDecryptionError, PGPError  # noqa: E402
from pgpy.packet.fields import String2Key  # noqa: E402
from pgpy.packet.packets import (  # noqa: E402
    IntegrityProtectedSKEData,
    IntegrityProtectedSKEDataV1,
    PKESessionKeyV3,
)

from crypto.armor import armor, unarmor  # noqa: E402

PGPKey = pgpy.PGPKey
PGPUID = pgpy.PGPUID
CIPHERS = (SymmetricKeyAlgorithm.AES256, SymmetricKeyAlgorithm.AES128)
HASHES = (HashAlgorithm.SHA256, HashAlgorithm.SHA512)
_ENCRYPTION = {KeyFlags.EncryptCommunications, KeyFlags.EncryptStorage}
_TARGETS_LIMIT = 1_000  # key objects: local keys, and outside keys as their caches keep them


class UndeliverableKey(ValueError):
    """No key usable for encryption to a recipient: the message must not go out in clear."""


class WrongPassphrase(ValueError):
    """The passphrase given does not unlock a protected private key."""


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


def fingerprint(key: PGPKey) -> str:
    """The fingerprint as Murmeli files and shows it: hex digits without spaces."""
    return str(key.fingerprint).replace(" ", "")


def only_user_ids(key: PGPKey, keep: Callable[[PGPUID], bool]) -> PGPKey:
    """A copy of public ``key`` with only the user IDs ``keep`` accepts (and every subkey)."""
    copy = parse_key(bytes(key))
    for uid in list(copy.userids):
        if not keep(uid):
            # PGPy's own del_uid does this, but finds the user ID by substring.
            uid._parent = None
            copy._uids.remove(uid)
    return copy


def check_deliverable(key: PGPKey) -> None:
    """Raise ``UndeliverableKey`` unless PGPy would encrypt to a valid, current (sub)key.

    What the check reads is kept (``_target``), so encrypting to the same key
    object afterwards does not read it again."""
    _target(key if key.is_public else key.pubkey)


def _encryption_key(key: PGPKey) -> PGPKey:
    """The (sub)key PGPy would encrypt to: the first whose flags allow it, primary first."""
    name = _name(key)
    if key.is_expired:
        raise UndeliverableKey(f"the key of {name} has expired")
    if any(True for _ in key.revocation_signatures):
        raise UndeliverableKey(f"the key of {name} is revoked")
    for candidate in (key, *key.subkeys.values()):
        if _ENCRYPTION & set(candidate._get_key_flags()):
            if candidate.is_expired:
                raise UndeliverableKey(f"the encryption subkey of {name} has expired")
            return candidate
    raise UndeliverableKey(f"the key of {name} has no encryption subkey")


@dataclass(frozen=True)
class _Target:
    """What encrypting to one key object needs, read from it once."""

    key: PGPKey  # held, so its id() is not reused by another key while cached
    subkey: PGPKey
    key_id: bytes
    ciphers: frozenset[SymmetricKeyAlgorithm]
    expires: datetime | None  # the earlier of the key's and the subkey's expiry
    name: str


_targets: dict[int, _Target] = {}
_targets_lock = threading.Lock()


def _target(key: PGPKey) -> _Target:
    """The cached ``_Target`` of ``key``, checked afresh until cached; then only its expiry
    is checked (keys are not changed in place: a revoked key is a new object)."""
    target = _targets.get(id(key))
    if target is None or target.key is not key:
        subkey = _encryption_key(key)
        ends = [end for end in (key.expires_at, subkey.expires_at) if end is not None]
        target = _Target(
            key=key,
            subkey=subkey,
            key_id=binascii.unhexlify(subkey.fingerprint.keyid),
            ciphers=frozenset(_preferences(key)),
            expires=min(ends, default=None),
            name=_name(key),
        )
        with _targets_lock:
            if len(_targets) >= _TARGETS_LIMIT:
                _targets.clear()
            _targets[id(key)] = target
    elif target.expires is not None and target.expires <= datetime.now(UTC):
        raise UndeliverableKey(f"the key of {target.name} has expired")
    return target


def encrypt(data: bytes, recipients: Sequence[PGPKey]) -> bytes:
    """``data`` as one binary OpenPGP message (SEIPDv1 + MDC) readable by every recipient:
    one session key, a PKESK packet per recipient, then the encrypted data, as
    ``PGPKey.encrypt`` writes them."""
    if not recipients:
        raise UndeliverableKey("no recipient key to encrypt to")
    targets = [_target(key if key.is_public else key.pubkey) for key in recipients]
    # The strongest of AES-256/AES-128 every recipient lists, else AES-128 (RFC 9580 MUST).
    cipher = next(
        (c for c in CIPHERS if all(c in target.ciphers for target in targets)), CIPHERS[-1]
    )
    session_key = cipher.gen_key()
    # Binary literal data ("b"): PGPy would guess text mode for text-like data,
    # and GnuPG then rewrites the CRLF line ends of the MIME entity on output.
    literal = pgpy.PGPMessage.new(data, format="b", compression=CompressionAlgorithm.Uncompressed)
    encrypted_data = IntegrityProtectedSKEDataV1()
    encrypted_data.encrypt(session_key, cipher, bytes(literal))
    message = pgpy.PGPMessage()
    message |= encrypted_data
    for target in targets:
        session_key_packet = PKESessionKeyV3()
        session_key_packet.encrypter = bytearray(target.key_id)
        session_key_packet.pkalg = target.subkey.key_algorithm
        session_key_packet.encrypt_sk(target.subkey._key, cipher, session_key)
        message |= session_key_packet
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


def without_passphrase(key: PGPKey, passphrase: str) -> PGPKey:
    """A copy of the protected private ``key`` with its passphrase protection removed.

    PGPy can add protection but not remove it: while the key is unlocked, each
    secret packet is marked unprotected (S2K usage 0, with its checksum) and the
    key serialised, which writes the secret values in clear. The caller's key is
    left as it was: the work is done on a copy.
    """
    key = parse_key(bytes(key))
    try:
        with key.unlock(passphrase):
            for part in (key, *key.subkeys.values()):
                material = part._key.keymaterial
                material.s2k = String2Key()
                material.encbytes = bytearray()
                material._compute_chksum()
                part._key.update_hlen()
            data = bytes(key)
    except (PGPDecryptionError, PGPError):
        raise WrongPassphrase("the passphrase does not unlock the key") from None
    return parse_key(data)


def _preferences(key: PGPKey) -> list[SymmetricKeyAlgorithm]:
    uid = next(iter(key.userids), None)
    return list(uid.selfsig.cipherprefs) if uid is not None and uid.selfsig else []


def _name(key: PGPKey) -> str:
    uid = next(iter(key.userids), None)
    return (uid.email or uid.name) if uid is not None else key.fingerprint.keyid
