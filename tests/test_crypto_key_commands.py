"""``murmeli keys list|export|import|rotate-kek`` through the real CLI, checked with real GnuPG."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from crypto import openpgp
from crypto.wrapping import new_kek
from tests.murmeli_process import MurmeliServer, unique_name
from tests.test_crypto_interop import PASSPHRASE
from tests.test_crypto_keys import gpg_key_pair

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)


def configured(tmp_path: Path, kek: str) -> MurmeliServer:
    kek_file = tmp_path / f"kek-{unique_name('k')}"
    kek_file.write_text(kek + "\n")
    config = tmp_path / f"murmeli-{unique_name('c')}.yaml"
    config.write_text(f"relay:\n  kek_file: {kek_file}\n")
    return MurmeliServer(tmp_path / "data", config=config)


def add_user(murmeli: MurmeliServer, address: str) -> str:
    name = unique_name("keys")
    result = murmeli.cli(
        "user", "add", name, "--password-stdin", "--email", address, stdin="password-1234\n"
    )
    assert result.returncode == 0, result.stderr
    return name


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_list_export_and_private_export_gnupg_decrypts(tmp_path, gnupg):
    murmeli = configured(tmp_path, new_kek())
    add_user(murmeli, "Ann@Example.org")
    public = openpgp.parse_key(ok(murmeli.cli("keys", "export", "ann@example.org")))
    listing = ok(murmeli.cli("keys", "list"))
    fingerprint = str(public.fingerprint).replace(" ", "")
    assert re.search(rf"^ann@example\.org\s+{fingerprint}\s+\d{{4}}-\d\d-\d\d", listing, re.M)
    short = murmeli.cli("keys", "export", "ann@example.org", "--private", "--passphrase-stdin",
                        stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    private = ok(murmeli.cli("keys", "export", "ann@example.org", "--private",
                             "--passphrase-stdin", stdin=PASSPHRASE + "\n"))  # fmt: skip
    assert "PRIVATE KEY BLOCK" in private
    gnupg.run("--import", data=private.encode())
    message = openpgp.encrypt(b"for Ann only", [public])
    assert gnupg.run("--decrypt", data=message) == b"for Ann only"
    nobody = murmeli.cli("keys", "export", "nobody@example.org")
    assert nobody.returncode == 2 and "not a local address" in nobody.stderr


def test_import_gnupg_key_pair_for_a_local_user_and_an_outside_key(tmp_path, gnupg):
    murmeli = configured(tmp_path, new_kek())
    owner = add_user(murmeli, "dora@example.org")
    key_file = tmp_path / "dora.asc"
    key_file.write_bytes(gpg_key_pair(gnupg, "dora@example.org"))
    refused = murmeli.cli("keys", "import", "dora@example.org", str(key_file),
                          "--passphrase-stdin", stdin="wrong passphrase\n")  # fmt: skip
    assert refused.returncode == 2 and "does not unlock" in refused.stderr
    assert "Traceback" not in refused.stderr
    out = ok(murmeli.cli("keys", "import", "dora@example.org", str(key_file),
                         "--passphrase-stdin", stdin=PASSPHRASE + "\n"))  # fmt: skip
    assert "imported key pair" in out
    ours = openpgp.parse_key(ok(murmeli.cli("keys", "export", "dora@example.org")))
    message = openpgp.encrypt(b"to Dora's own gpg key", [ours])
    assert gnupg.run("--decrypt", data=message) == b"to Dora's own gpg key"

    outside = tmp_path / "erin.asc"
    outside.write_bytes(gpg_key_pair(gnupg, "erin@example.net"))
    outside.write_bytes(gnupg.run("--armor", "--export", "erin@example.net"))
    missing_owner = murmeli.cli("keys", "import", "erin@example.net", str(outside))
    assert missing_owner.returncode == 2 and "--owner USER is required" in missing_owner.stderr
    ok(murmeli.cli("keys", "import", "erin@example.net", str(outside), "--owner", owner))
    assert "erin@example.net" in ok(murmeli.cli("keys", "list", "--owner", owner))
    assert "erin@example.net" not in ok(murmeli.cli("keys", "list"))
    bad = tmp_path / "bad.asc"
    bad.write_text(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----\n"
    )
    garbage = murmeli.cli("keys", "import", "erin@example.net", str(bad), "--owner", owner)
    assert garbage.returncode == 2 and "key: " in garbage.stderr


def test_rotate_kek_keeps_every_key_and_the_old_kek_stops_start_up(tmp_path):
    old = new_kek()
    murmeli = configured(tmp_path, old)
    addresses = [f"rot{n}@example.org" for n in range(3)]
    for address in addresses:
        add_user(murmeli, address)
    before = {a: ok(murmeli.cli("keys", "export", a)) for a in addresses}
    new_file = tmp_path / "new-kek"
    new_file.write_text(new_kek())
    rotated = ok(murmeli.cli("keys", "rotate-kek", "--new-kek-file", str(new_file)))
    assert "re-wrapped 3 private keys" in rotated and "relay.kek_file" in rotated

    with_old = murmeli.cli("keys", "export", addresses[0], "--private", "--passphrase-stdin",
                           stdin=PASSPHRASE + "\n")  # fmt: skip
    assert with_old.returncode == 2 and "not the one the stored OpenPGP keys" in with_old.stderr
    assert "Traceback" not in with_old.stderr
    with pytest.raises(RuntimeError, match="not the one the stored OpenPGP keys"):
        murmeli.start()

    murmeli.config.write_text(f"relay:\n  kek_file: {new_file}\n")
    for address in addresses:
        armored = ok(murmeli.cli("keys", "export", address, "--private", "--passphrase-stdin",
                                 stdin=PASSPHRASE + "\n"))  # fmt: skip
        private = openpgp.parse_key(armored)
        assert openpgp.armored_public_key(private) == before[address]
        with private.unlock(PASSPHRASE):
            message = openpgp.encrypt(b"still readable", [private.pubkey])
            assert openpgp.decrypt(message, private) == b"still readable"

    missing = murmeli.cli("keys", "rotate-kek", "--new-kek-file", str(tmp_path / "absent"))
    assert missing.returncode == 2 and "--new-kek-file" in missing.stderr
