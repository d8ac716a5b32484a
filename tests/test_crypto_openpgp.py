"""The OpenPGP layer: fast armor, encryption round trip with the installed cryptography, no MDC."""

from __future__ import annotations

import os
import warnings

import pgpy
import pytest
from cryptography.utils import CryptographyDeprecationWarning
from pgpy.packet.packets import SKEData
from pgpy.types import Armorable

from crypto import openpgp
from crypto.armor import ArmorError, armor, crc24, unarmor
from crypto.openpgp import DecryptionRefused, UndeliverableKey

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 9, 63, 64, 65, 1000, 51_777])
def test_crc24_matches_pgpy_reference(size):
    data = os.urandom(size)
    assert crc24(data) == Armorable.crc24(data)


def test_armor_round_trip_and_damage_detected():
    data = os.urandom(5000)
    text = armor("MESSAGE", data)
    assert unarmor(text, "MESSAGE") == data
    assert unarmor(text.replace("\n", "\r\n"), "MESSAGE") == data
    lines = text.splitlines()
    lines[3] = lines[3][:10] + ("A" if lines[3][10] != "A" else "B") + lines[3][11:]
    with pytest.raises(ArmorError, match="CRC-24"):
        unarmor("\n".join(lines), "MESSAGE")
    with pytest.raises(ArmorError, match="no armored PGP MESSAGE"):
        unarmor(text.replace("MESSAGE", "SIGNATURE"), "MESSAGE")


def test_installed_cryptography_still_encrypts_with_pgpy():
    """Fails loudly when a cryptography upgrade breaks PGPy (it builds a table of old ciphers)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        key = openpgp.new_key("ann@example.org")
        encrypted = openpgp.encrypt(b"round trip", [key.pubkey])
        assert openpgp.decrypt(encrypted, key) == b"round trip"
    unexpected = [
        w
        for w in caught
        if not issubclass(w.category, CryptographyDeprecationWarning | UserWarning)
    ]
    assert not unexpected, [str(w.message) for w in unexpected]


def test_encrypts_to_several_recipients_and_each_decrypts():
    ann, bob = openpgp.new_key("ann@example.org"), openpgp.new_key("bob@example.org")
    data = os.urandom(20_000)
    encrypted = openpgp.encrypt(data, [ann.pubkey, bob.pubkey])
    assert openpgp.decrypt(encrypted, ann) == data
    assert openpgp.decrypt(armor("MESSAGE", encrypted).encode(), bob) == data
    with pytest.raises(DecryptionRefused, match="cannot decrypt"):
        openpgp.decrypt(encrypted, openpgp.new_key("eve@example.org"))


def test_refuses_to_decrypt_data_without_mdc():
    key = openpgp.new_key("ann@example.org")
    message = pgpy.PGPMessage.from_blob(openpgp.encrypt(b"secret", [key.pubkey]))
    legacy = SKEData()
    legacy.ct = bytearray(os.urandom(64))
    legacy.update_hlen()
    message._message = legacy
    crafted = bytes(message)
    assert pgpy.PGPMessage.from_blob(crafted).is_encrypted  # PGPy itself would go on
    with pytest.raises(DecryptionRefused, match="MDC"):
        openpgp.decrypt(crafted, key)


def test_no_recipient_or_no_encryption_key_fails_closed():
    with pytest.raises(UndeliverableKey, match="no recipient"):
        openpgp.encrypt(b"x", [])
    signing_only = pgpy.PGPKey.new(openpgp.PubKeyAlgorithm.EdDSA, openpgp.EllipticCurveOID.Ed25519)
    signing_only.add_uid(
        pgpy.PGPUID.new("sig@example.org"), usage={openpgp.KeyFlags.Sign}, primary=True
    )
    with pytest.raises(UndeliverableKey, match="no encryption subkey"):
        openpgp.encrypt(b"x", [signing_only.pubkey])
