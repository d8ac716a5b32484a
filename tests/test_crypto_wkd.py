"""Outside recipients' keys: the per-user keyring, and the WKD lookup client against a real
Murmeli serving its Web Key Directory over HTTPS (a test certificate for ``example.net``;
``wkd_connect_to`` routes the lookups to it, the certificate is still checked for the name)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from config.schema import Listen
from crypto import openpgp
from crypto.keys import KeyStoreError
from crypto.recipient_keys import RecipientKeys, wkd_client
from crypto.settings import RelaySettings
from crypto.wkd import WkdClient, WkdOptions, hashed_local_part, zbase32
from crypto.wrapping import new_kek
from davserver.accounts.directory import Directory
from davserver.database import Database
from tests.murmeli_process import MurmeliServer

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)


def test_hash_is_the_drafts_example():
    # draft-koch-openpgp-webkey-service, section 3.1: "Joe.Doe@Example.ORG"
    assert hashed_local_part("Joe.Doe") == "iy9q119eutrkn8s1mk4r39qejnbu3n5q"
    assert zbase32(b"\x00") == "yy" and zbase32(b"\xff") == "9h"


@pytest.fixture
def keyring(tmp_path) -> tuple[RecipientKeys, Directory, Database]:
    database = Database(f"sqlite:///{tmp_path / 'murmeli.sqlite3'}")
    directory = Directory(database)
    directory.add("ann", "password-1234", email="ann@example.org", role="collaborator")
    directory.add("bob", "password-1234", email="bob@example.org", role="collaborator")
    return RecipientKeys(database, directory), directory, database


def test_keyring_is_per_user_and_refuses_unusable_keys(keyring):
    keys, _, _ = keyring
    erin = openpgp.new_key("erin@example.net")
    keys.add("ann", "Erin@Example.net", openpgp.armored_public_key(erin))
    found = keys.find("ann@example.org", "erin@example.net")
    assert found is not None and found.fingerprint == erin.fingerprint
    assert keys.find("bob@example.org", "erin@example.net") is None  # not Bob's import
    assert keys.find("stranger@example.com", "erin@example.net") is None
    assert [k.address for k in keys.list("ann")] == ["erin@example.net"]
    assert keys.list("bob") == []
    with pytest.raises(KeyStoreError, match="no user ID"):
        keys.add("ann", "frank@example.net", openpgp.armored_public_key(erin))
    with pytest.raises(KeyStoreError, match="private key"):
        keys.add("ann", "erin@example.net", bytes(erin))
    with pytest.raises(KeyStoreError, match="belongs to a Murmeli user"):
        keys.add("ann", "bob@example.org", openpgp.armored_public_key(erin))
    with pytest.raises(KeyStoreError, match="key: "):
        keys.add("ann", "erin@example.net", "not a key at all")
    keys.remove("ann", "erin@example.net")
    assert keys.find("ann@example.org", "erin@example.net") is None
    with pytest.raises(KeyStoreError, match="no imported key"):
        keys.remove("ann", "erin@example.net")


def test_wkd_lookup_is_off_by_default():
    assert wkd_client(RelaySettings()) is None


def certificate_for(folder: Path, *names: str) -> tuple[Path, Path]:
    certificate, key = folder / "wkd-cert.pem", folder / "wkd-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", f"/CN={names[0]}",
         "-addext", "subjectAltName=" + ",".join(f"DNS:{name}" for name in names),
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    return certificate, key


@pytest.fixture(scope="module")
def directory_server(tmp_path_factory) -> Iterator[tuple[MurmeliServer, Path]]:
    folder = tmp_path_factory.mktemp("wkd")
    certificate, key = certificate_for(folder, "openpgpkey.example.net", "example.net")
    (folder / "kek").write_text(new_kek())
    config = folder / "murmeli.yaml"
    config.write_text(
        f"server:\n  tls:\n    certificate: {certificate}\n    key: {key}\n"
        f"relay:\n  kek_file: {folder / 'kek'}\n"
    )
    running = MurmeliServer(folder / "data", config=config).start()
    result = running.cli("user", "add", "bob", "--no-password", "--email", "bob@example.net")
    assert result.returncode == 0, result.stderr
    made = running.cli("keys", "export", "bob@example.net")  # the directory makes no key
    assert made.returncode == 0, made.stderr
    yield running, certificate
    running.stop()


def client_for(server: MurmeliServer, ca_file: Path | None) -> WkdClient:
    address = urlsplit(server.url)
    return WkdClient(
        WkdOptions(
            timeout=10,
            cache_seconds=3600,
            ca_file=ca_file,
            connect_to=Listen(address.hostname, address.port),
        )
    )


def lookups(server: MurmeliServer, local: str) -> int:
    return sum(f"/hu/{hashed_local_part(local)}" in line for line in server.log)


def logged_lookups(server: MurmeliServer, local: str, at_least: int) -> int:
    """The count of ``local``'s lookups in the access log, once it reaches ``at_least``:
    the log arrives through a pipe, a moment after the answer."""
    deadline = time.monotonic() + 10
    while lookups(server, local) < at_least and time.monotonic() < deadline:
        time.sleep(0.05)
    return lookups(server, local)


def test_lookup_finds_a_served_key_and_caches_misses(directory_server):
    server, certificate = directory_server
    client = client_for(server, certificate)
    key = client.find("Bob@example.net")
    served = server.cli("keys", "export", "bob@example.net")
    assert served.returncode == 0, served.stderr
    assert key is not None and key.is_public
    assert key.fingerprint == openpgp.parse_key(served.stdout).fingerprint
    logged_lookups(server, "bob", at_least=1)
    assert "/.well-known/openpgpkey/example.net/hu/" in "".join(server.log)  # advanced method

    assert client.find("nobody@example.net") is None
    asked = logged_lookups(server, "nobody", at_least=1)
    assert asked >= 1
    assert client.find("nobody@example.net") is None  # cached: no request
    assert client.find("carol@example.net") is None  # a request, logged after any for nobody
    logged_lookups(server, "carol", at_least=1)
    assert lookups(server, "nobody") == asked


def test_lookup_never_trusts_an_unverified_certificate(directory_server):
    server, certificate = directory_server
    before = lookups(server, "bob")
    assert client_for(server, None).find("bob@example.net") is None  # system CAs: refused
    assert client_for(server, certificate).find("dave@example.net") is None  # logged after
    logged_lookups(server, "dave", at_least=1)
    assert lookups(server, "bob") == before  # no request got through the failed handshake


def test_recipient_keys_fall_back_to_the_directory(directory_server, keyring):
    server, certificate = directory_server
    _, directory, database = keyring
    keys = RecipientKeys(database, directory, client_for(server, certificate))
    found = keys.find("ann@example.org", "bob@example.net")
    assert found is not None and any(uid.name == "bob@example.net" for uid in found.userids)
