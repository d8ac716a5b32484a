"""``/api/keys``, ``/api/messages/decrypt``, ``/api/recipient-keys`` and the Web Key Directory
of a real server, with ``requests`` as the client and real GnuPG reading what it serves."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
import requests

from crypto import openpgp
from crypto.pgpmime import encrypt_message
from crypto.wkd import hashed_local_part
from crypto.wrapping import new_kek
from tests.murmeli_process import MurmeliServer, unique_name
from tests.test_crypto_interop import PASSPHRASE
from tests.test_crypto_keys import gpg_key_pair

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)


LOCAL_DOMAIN = "lists.example.org"


@pytest.fixture(scope="module")
def murmeli(tmp_path_factory) -> Iterator[MurmeliServer]:
    folder = tmp_path_factory.mktemp("keys")
    (folder / "kek").write_text(new_kek())
    config = folder / "murmeli.yaml"
    config.write_text(f"relay:\n  kek_file: {folder / 'kek'}\n  local_domains: {LOCAL_DOMAIN}\n")
    running = MurmeliServer(folder / "data", config=config).start()
    yield running
    running.stop()


def user(murmeli: MurmeliServer) -> tuple[tuple[str, str], str]:
    name = unique_name("k")
    address = f"{name}@example.org"
    password = f"pw-{name}-secret"
    result = murmeli.cli(
        "user", "add", name, "--password-stdin", "--email", address, stdin=password + "\n"
    )
    assert result.returncode == 0, result.stderr
    return (name, password), address


def test_own_keys_listed_and_exported_others_forbidden_and_login_required(murmeli):
    ann, ann_address = user(murmeli)
    _, bob_address = user(murmeli)
    listed = requests.get(f"{murmeli.url}/api/keys", auth=ann, timeout=30)
    assert listed.status_code == 200
    (entry,) = listed.json()["keys"]
    assert entry["address"] == ann_address
    public = requests.get(f"{murmeli.url}/api/keys/{ann_address}", auth=ann, timeout=30)
    assert public.status_code == 200 and public.headers["Content-Type"] == "application/pgp-keys"
    key = openpgp.parse_key(public.text)
    assert key.is_public and str(key.fingerprint).replace(" ", "") == entry["fingerprint"]
    other = requests.get(f"{murmeli.url}/api/keys/{bob_address}", auth=ann, timeout=30)
    assert other.status_code == 403 and bob_address in other.json()["error"]
    stolen = requests.post(f"{murmeli.url}/api/keys/{bob_address}/private", auth=ann,
                           json={"passphrase": PASSPHRASE}, timeout=30)  # fmt: skip
    assert stolen.status_code == 403
    for path in ("/api/keys", f"/api/keys/{ann_address}", "/api/recipient-keys"):
        assert requests.get(murmeli.url + path, timeout=30).status_code == 401


def test_private_key_export_opens_in_gnupg(murmeli, gnupg):
    ann, address = user(murmeli)
    url = f"{murmeli.url}/api/keys/{address}/private"
    short = requests.post(url, auth=ann, json={"passphrase": "short"}, timeout=30)
    assert short.status_code == 400 and "passphrase" in short.json()["error"]
    exported = requests.post(url, auth=ann, json={"passphrase": PASSPHRASE}, timeout=30)
    assert exported.status_code == 200 and "PRIVATE KEY BLOCK" in exported.text
    gnupg.run("--import", data=exported.content)
    public = openpgp.parse_key(
        requests.get(f"{murmeli.url}/api/keys/{address}", auth=ann, timeout=30).text
    )
    assert gnupg.run("--decrypt", data=openpgp.encrypt(b"webmail", [public])) == b"webmail"


def test_decrypt_route_round_trip_and_refusals(murmeli):
    ann, address = user(murmeli)
    _, bob_address = user(murmeli)
    public = openpgp.parse_key(
        requests.get(f"{murmeli.url}/api/keys/{address}", auth=ann, timeout=30).text
    )
    original = EmailMessage()
    original["From"], original["To"], original["Subject"] = bob_address, address, "Quarterly"
    original.set_content("Figures attached. Grüße\n")
    original.add_attachment(bytes(range(256)), "application", "octet-stream", filename="q.bin")
    encrypted = encrypt_message(original, [public]).as_bytes(policy=policy.SMTP)
    url = f"{murmeli.url}/api/messages/decrypt"
    mail = {"Content-Type": "message/rfc822"}
    opened = requests.post(url, auth=ann, data=encrypted, headers=mail, timeout=30)
    assert opened.status_code == 200, opened.text
    assert opened.headers["Content-Type"] == "message/rfc822"
    message = BytesParser(policy=policy.default).parsebytes(opened.content)
    assert message["Subject"] == "Quarterly"
    assert message.get_body().get_content() == "Figures attached. Grüße\r\n"  # CRLF: raw mail
    (attachment,) = message.iter_attachments()
    assert attachment.get_content() == bytes(range(256))

    bob_only = openpgp.new_key(bob_address)
    not_ours = encrypt_message(original, [bob_only.pubkey]).as_bytes(policy=policy.SMTP)
    refused = requests.post(url, auth=ann, data=not_ours, headers=mail, timeout=30)
    assert refused.status_code == 400 and "cannot decrypt" in refused.json()["error"]
    plain = requests.post(url, auth=ann, data=original.as_bytes(), headers=mail, timeout=30)
    assert plain.status_code == 400 and "not a PGP/MIME message" in plain.json()["error"]


def test_recipient_keyring_add_list_remove(murmeli, gnupg):
    ann, _ = user(murmeli)
    carol, _ = user(murmeli)
    gpg_key_pair(gnupg, "erin@example.net")
    armored = gnupg.run("--armor", "--export", "erin@example.net").decode()
    url = f"{murmeli.url}/api/recipient-keys"
    wrong = requests.post(url, auth=ann, json={"address": "frank@example.net", "key": armored},
                          timeout=30)  # fmt: skip
    assert wrong.status_code == 400 and "no user ID with the address" in wrong.json()["error"]
    added = requests.post(url, auth=ann, json={"address": "erin@example.net", "key": armored},
                          timeout=30)  # fmt: skip
    assert added.status_code == 201 and added.json()["address"] == "erin@example.net"
    assert [e["address"] for e in requests.get(url, auth=ann, timeout=30).json()] == [
        "erin@example.net"
    ]
    assert requests.get(url, auth=carol, timeout=30).json() == []
    assert requests.delete(f"{url}/erin@example.net", auth=carol, timeout=30).status_code == 400
    assert requests.delete(f"{url}/erin@example.net", auth=ann, timeout=30).status_code == 204
    assert requests.get(url, auth=ann, timeout=30).json() == []


def test_web_key_directory_serves_users_keys_to_gnupg(murmeli, gnupg):
    owner, address = user(murmeli)
    local = address.split("@")[0]
    hashed = hashed_local_part(local)
    direct = f"{murmeli.url}/.well-known/openpgpkey/hu/{hashed}?l={local}"
    assert requests.get(direct, headers={"Host": "example.org"}, timeout=30).status_code == 404
    assert address not in murmeli.cli("keys", "list").stdout  # the lookup made no key
    assert requests.get(f"{murmeli.url}/api/keys", auth=owner, timeout=30).status_code == 200
    found = requests.get(direct, headers={"Host": "example.org"}, timeout=30)
    assert found.status_code == 200
    assert found.headers["Content-Type"] == "application/octet-stream"
    assert not found.content.startswith(b"-----")  # binary, not armored
    imported = gnupg.run("--import", "--import-options", "show-only", "--with-colons",
                         data=found.content).decode()  # fmt: skip
    uids = [line.split(":")[9] for line in imported.splitlines() if line.startswith("uid:")]
    assert uids == [address]
    advanced = f"{murmeli.url}/.well-known/openpgpkey/example.org/hu/{hashed}?l={local}"
    assert requests.get(advanced, timeout=30).content == found.content

    unknown = hashed_local_part("nobody")
    for path in (
        f"/.well-known/openpgpkey/example.org/hu/{unknown}?l=nobody",
        f"/.well-known/openpgpkey/example.org/hu/{unknown}?l={local}",  # hash of another name
        f"/.well-known/openpgpkey/example.net/hu/{hashed}?l={local}",  # another domain
    ):
        assert requests.get(murmeli.url + path, timeout=30).status_code == 404, path
    for path in ("/.well-known/openpgpkey/policy", "/.well-known/openpgpkey/example.org/policy"):
        answer = requests.get(murmeli.url + path, timeout=30)
        assert answer.status_code == 200 and answer.content == b""
    team = f"/.well-known/openpgpkey/{LOCAL_DOMAIN}/hu/{hashed_local_part('team')}?l=team"
    assert requests.get(murmeli.url + team, timeout=30).status_code == 404  # no key yet
    assert murmeli.cli("keys", "export", f"team@{LOCAL_DOMAIN}").returncode == 0
    assert requests.get(murmeli.url + team, timeout=30).status_code == 200  # no user, local
    caldav = requests.get(f"{murmeli.url}/.well-known/caldav", allow_redirects=False, timeout=30)
    assert caldav.status_code in (301, 302, 303, 307, 308)


def test_an_app_password_reaches_no_private_key_and_changes_no_keyring(murmeli):
    (name, password), address = user(murmeli)
    made = murmeli.cli("user", "app-password", "add", name, "--label", "phone")
    device = (name, made.stdout.strip().splitlines()[-1])
    assert requests.get(f"{murmeli.url}/api/keys", auth=device, timeout=30).status_code == 200
    private = f"{murmeli.url}/api/keys/{address}/private"
    taken = requests.post(private, json={"passphrase": "long enough passphrase"}, auth=device)
    assert taken.status_code == 403 and "account password" in taken.json()["error"]
    mail = {"Content-Type": "message/rfc822"}
    decrypt = f"{murmeli.url}/api/messages/decrypt"
    assert requests.post(decrypt, data=b"x", headers=mail, auth=device).status_code == 403
    keyring = f"{murmeli.url}/api/recipient-keys"
    added = requests.post(keyring, json={"address": "e@example.net", "key": "k"}, auth=device)
    assert added.status_code == 403
    assert requests.delete(f"{keyring}/e@example.net", auth=device).status_code == 403
    own = requests.post(
        private, json={"passphrase": "long enough passphrase"}, auth=(name, password)
    )
    assert own.status_code == 200
