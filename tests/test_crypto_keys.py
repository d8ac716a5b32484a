"""The key store: keys made on first use, wrapped at rest, a wrong KEK refused, KEK rotation."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select, update

from crypto import openpgp
from crypto.keys import KeyStore, KeyStoreError, rotate_kek
from crypto.settings import RelaySettings
from crypto.wrapping import KeyEncryptionKeyError, UnwrapError, load_kek, new_kek
from davserver.database import Database
from davserver.tables import openpgp_keys
from tests.test_crypto_interop import PASSPHRASE, GnuPG

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)


def kek() -> bytes:
    return base64.b64decode(new_kek())


@pytest.fixture
def database(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'murmeli.sqlite3'}")


def test_key_made_on_first_use_is_kept_and_limited_to_what_gnupg_reads(database):
    secret = kek()
    key = KeyStore(database, secret).private_key(" Ann@Example.ORG ")
    again = KeyStore(database, secret).private_key("ann@example.org")  # fresh cache
    assert again.fingerprint == key.fingerprint
    assert not key.is_protected and not key.is_public
    assert key.key_algorithm is openpgp.PubKeyAlgorithm.EdDSA
    (subkey,) = key.subkeys.values()
    assert subkey.key_algorithm is openpgp.PubKeyAlgorithm.ECDH
    selfsig = next(iter(key.userids)).selfsig
    assert next(iter(key.userids)).name == "ann@example.org"  # the user id is the address
    assert list(selfsig.cipherprefs) == list(openpgp.CIPHERS)
    assert list(selfsig.hashprefs) == list(openpgp.HASHES)
    assert {feature.name for feature in selfsig.features} == {"ModificationDetection"}


def test_rejects_what_is_not_an_address(database):
    with pytest.raises(KeyStoreError, match="not an e-mail address"):
        KeyStore(database, kek()).private_key("ann")


def test_database_holds_no_private_key_material_in_clear(database, tmp_path):
    store = KeyStore(database, kek())
    keys = [store.private_key(f"user{n}@example.org") for n in range(3)]
    database.engine.dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("murmeli.sqlite3*"))
    assert b"openpgp_keys" in stored and bytes(keys[0].pubkey) in stored  # we read the right file
    for key in keys:
        assert bytes(key) not in stored
        assert str(key).encode() not in stored
        assert b"PRIVATE KEY" not in stored
        for part in (key, *key.subkeys.values()):
            secret = part._key.keymaterial.s
            for order in ("big", "little"):
                assert secret.to_bytes(32, order) not in stored


def test_wrong_kek_stops_start_up_with_a_clear_error(database):
    KeyStore(database, kek()).private_key("ann@example.org")
    with pytest.raises(KeyEncryptionKeyError, match="not the one the stored OpenPGP keys"):
        KeyStore(database, kek())


def test_wrapped_key_does_not_open_for_another_address(database):
    secret = kek()
    store = KeyStore(database, secret)
    store.private_key("ann@example.org")
    store.private_key("bob@example.org")
    with database.transaction() as connection:
        ann = connection.execute(
            select(openpgp_keys.c.wrapped_private_key).where(
                openpgp_keys.c.address == "ann@example.org"
            )
        ).scalar()
        connection.execute(
            update(openpgp_keys)
            .where(openpgp_keys.c.address == "bob@example.org")
            .values(wrapped_private_key=ann)
        )
    with pytest.raises(UnwrapError, match=r"bob@example\.org"):
        KeyStore(database, secret).private_key("bob@example.org")


def test_rotate_kek_keeps_every_key(database):
    old, new = kek(), kek()
    store = KeyStore(database, old)
    fingerprints = {
        address: store.private_key(address).fingerprint
        for address in ("ann@example.org", "bob@example.org", "eve@example.org")
    }
    with pytest.raises(KeyEncryptionKeyError):
        rotate_kek(database, kek(), new)  # a wrong old KEK changes nothing
    assert rotate_kek(database, old, new) == 3
    with pytest.raises(KeyEncryptionKeyError):
        KeyStore(database, old)
    rotated = KeyStore(database, new)
    for address, fingerprint in fingerprints.items():
        key = rotated.private_key(address)
        assert key.fingerprint == fingerprint
        plain = openpgp.decrypt(openpgp.encrypt(b"still mine", [key.pubkey]), key)
        assert plain == b"still mine"


def test_exports_public_key_and_passphrase_protected_private_key(database):
    store = KeyStore(database, kek())
    public = openpgp.parse_key(store.export_public("ann@example.org"))
    assert public.is_public
    assert public.fingerprint == store.private_key("ann@example.org").fingerprint
    with pytest.raises(KeyStoreError, match="passphrase"):
        store.export_private("ann@example.org", "short")
    exported = store.export_private("ann@example.org", "correct horse battery")
    private = openpgp.parse_key(exported)
    assert private.is_protected and not store.private_key("ann@example.org").is_protected
    with private.unlock("correct horse battery"):
        plain = openpgp.decrypt(openpgp.encrypt(b"hello", [public]), private)
    assert plain == b"hello"


def test_kek_comes_from_file_or_environment(tmp_path, monkeypatch):
    encoded = new_kek()
    secret_file = tmp_path / "kek"
    secret_file.write_text(encoded + "\n")
    assert load_kek(RelaySettings(kek_file=secret_file)) == base64.b64decode(encoded)
    monkeypatch.setenv("TEST_KEK", encoded)
    assert load_kek(RelaySettings(kek_environment="TEST_KEK")) == base64.b64decode(encoded)
    monkeypatch.setenv("TEST_KEK", base64.b64encode(b"too short").decode())
    with pytest.raises(KeyEncryptionKeyError, match=r"TEST_KEK.*32 random bytes"):
        load_kek(RelaySettings(kek_environment="TEST_KEK"))
    monkeypatch.delenv("TEST_KEK")
    with pytest.raises(KeyEncryptionKeyError, match="no key-encryption key"):
        load_kek(RelaySettings(kek_environment="TEST_KEK"))


def gpg_key_pair(gpg: GnuPG, address: str, encryption: bool = True) -> bytes:
    """A passphrase-protected Ed25519 (+ Cv25519) key pair made by gpg, armored."""
    gpg.run("--quick-generate-key", address, "ed25519", "cert,sign", "never")
    if encryption:
        fingerprint = next(
            line.split(":")[9]
            for line in gpg.run("--with-colons", "--list-keys", address).decode().splitlines()
            if line.startswith("fpr:")
        )
        gpg.run("--quick-add-key", fingerprint, "cv25519", "encr", "never")
    return gpg.run("--armor", "--export-secret-keys", address)


def test_imports_a_gnupg_key_pair_which_then_decrypts_and_is_encrypted_to(database, gnupg):
    secret = kek()
    store = KeyStore(database, secret)
    exported = gpg_key_pair(gnupg, "dora@example.org")
    with pytest.raises(KeyStoreError, match="passphrase: the key is protected"):
        store.import_private("dora@example.org", exported, None)
    with pytest.raises(KeyStoreError, match="passphrase: it does not unlock"):
        store.import_private("dora@example.org", exported, "not the passphrase")
    with pytest.raises(KeyStoreError, match=r"no user ID with the address eve@example\.org"):
        store.import_private("eve@example.org", exported, PASSPHRASE)
    stored = store.import_private("Dora@example.org", exported, PASSPHRASE)
    key = KeyStore(database, secret).private_key("dora@example.org")
    assert stored.fingerprint == str(key.fingerprint).replace(" ", "") and not key.is_protected
    # Our encryption opens with gpg's original key; gpg's encryption opens with ours.
    ours = openpgp.encrypt(b"to the imported key", [store.public_key("dora@example.org")])
    assert gnupg.run("--decrypt", data=ours) == b"to the imported key"
    theirs = gnupg.run("--encrypt", "--recipient", "dora@example.org", data=b"from gpg")
    assert openpgp.decrypt(theirs, key) == b"from gpg"


def test_import_refuses_keys_it_cannot_use_and_keeps_an_existing_key(database, gnupg):
    store = KeyStore(database, kek())
    signing_only = gpg_key_pair(gnupg, "sig@example.org", encryption=False)
    with pytest.raises(KeyStoreError, match="no encryption subkey"):
        store.import_private("sig@example.org", signing_only, PASSPHRASE)
    public_only = gnupg.run("--armor", "--export", "sig@example.org")
    with pytest.raises(KeyStoreError, match="public key"):
        store.import_private("sig@example.org", public_only, None)
    with pytest.raises(KeyStoreError, match="key: "):
        store.import_private("sig@example.org", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n", None)
    existing = store.private_key("fred@example.org")
    exported = gpg_key_pair(gnupg, "fred@example.org")
    with pytest.raises(KeyStoreError, match="already has the key"):
        store.import_private("fred@example.org", exported, PASSPHRASE)
    assert store.private_key("fred@example.org").fingerprint == existing.fingerprint
    replaced = store.import_private("fred@example.org", exported, PASSPHRASE, replace=True)
    assert replaced.fingerprint != str(existing.fingerprint).replace(" ", "")
    assert [k.fingerprint for k in store.stored() if k.address == "fred@example.org"] == [
        replaced.fingerprint
    ]
