"""PGP/MIME from our builder against real GnuPG (Debian's gpg 2.2), both ways.

Each recipient's secret key lives in its own GNUPGHOME, imported from our
passphrase-protected export, so every decryption below is gpg's own.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from crypto import openpgp
from crypto.armor import armor
from crypto.pgpmime import UndeliverableKey, decrypt_message, encrypt_message, is_encrypted

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)
PASSPHRASE = "interop passphrase"
PARSER = BytesParser(policy=policy.default)


class GnuPG:
    def __init__(self, home: Path) -> None:
        self.home = home

    def run(self, *args: str, data: bytes = b"") -> bytes:
        command = [
            "gpg", "--homedir", str(self.home), "--batch", "--no-random-seed-file",
            "--auto-key-locate", "local", "--trust-model", "always",
            "--pinentry-mode", "loopback", "--passphrase", PASSPHRASE,
            *args,
        ]  # fmt: skip
        done = subprocess.run(command, input=data, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout


@pytest.fixture(scope="module")
def gnupg_homes() -> Iterator[dict[str, GnuPG]]:
    if shutil.which("gpg") is None:
        pytest.fail("gpg is not installed (scripts/install-test-services installs gnupg)")
    # Short paths: gpg-agent's socket path must stay under the Unix socket limit.
    homes = {name: Path(tempfile.mkdtemp(prefix="gpg")) for name in ("ann", "bob", "carol")}
    yield {name: GnuPG(home) for name, home in homes.items()}
    for home in homes.values():
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def keys(gnupg_homes) -> dict[str, openpgp.PGPKey]:
    made = {name: openpgp.new_key(f"{name}@example.org") for name in ("ann", "bob")}
    for name, key in made.items():
        exported = key.__copy__()
        exported.protect(PASSPHRASE, openpgp.CIPHERS[0], openpgp.HASHES[0])
        gnupg_homes[name].run("--import", data=armor("PRIVATE KEY BLOCK", bytes(exported)).encode())
    gnupg_homes["bob"].run("--import", data=openpgp.armored_public_key(made["ann"]).encode())
    return made


def canonical(message: EmailMessage) -> EmailMessage:
    """The message as it travels over SMTP (CRLF), which is what encryption must preserve."""
    return PARSER.parsebytes(message.as_bytes(policy=policy.SMTP))


def html_message_with_inline_image_and_attachment() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "ann@example.org"
    message["To"] = "bob@example.org"
    message["Cc"] = "carol@example.org"
    message["Bcc"] = "hidden@example.org"
    message["Subject"] = "Quarterly figures, Überblick"
    message["Date"] = "Tue, 02 Jan 2024 10:00:00 +0100"
    message["Message-ID"] = "<figures-1@example.org>"
    message.set_content("Plain text version.\nZweite Zeile: äöü\n")
    message.add_alternative('<p>See the chart: <img src="cid:chart@example.org"></p>', "html")
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(4000)
    message.get_payload()[1].add_related(image, "image", "png", cid="<chart@example.org>")
    message.add_attachment(os.urandom(30_000), "application", "octet-stream", filename="data.bin")
    return canonical(message)


def leaves(message: EmailMessage) -> list[tuple]:
    return [
        (
            part.get_content_type(),
            part.get("Content-ID"),
            part.get_filename(),
            part.get_content_disposition(),
            part.get_payload(decode=True),
        )
        for part in message.walk()
        if not part.is_multipart()
    ]


def structure(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def gpg_opens(home: GnuPG, encrypted: EmailMessage) -> EmailMessage:
    """Check the RFC 3156 envelope, then have gpg decrypt part 2."""
    assert encrypted.get_content_type() == "multipart/encrypted"
    assert encrypted.get_param("protocol") == "application/pgp-encrypted"
    control, body = encrypted.get_payload()
    assert control.get_content_type() == "application/pgp-encrypted"
    assert control.get_payload(decode=True).strip() == b"Version: 1"
    assert body.get_content_type() == "application/octet-stream"
    assert body.get_filename() == "encrypted.asc"
    armored = body.get_payload(decode=True)
    assert armored.startswith(b"-----BEGIN PGP MESSAGE-----")
    return PARSER.parsebytes(home.run("--decrypt", data=armored))


def test_gnupg_opens_html_message_with_inline_image_for_each_of_two_recipients(gnupg_homes, keys):
    original = html_message_with_inline_image_and_attachment()
    encrypted = PARSER.parsebytes(
        encrypt_message(original, [keys["ann"].pubkey, keys["bob"].pubkey]).as_bytes()
    )
    for name in ("From", "To", "Cc", "Date", "Message-ID", "Subject"):
        assert encrypted[name] == original[name]
    assert "Bcc" not in encrypted
    assert b"Plain text version" not in encrypted.as_bytes()
    for name in ("ann", "bob"):
        inner = gpg_opens(gnupg_homes[name], encrypted)
        assert structure(inner) == structure(original) == [
            "multipart/mixed", "multipart/alternative", "text/plain",
            "multipart/related", "text/html", "image/png", "application/octet-stream",
        ]  # fmt: skip
        assert leaves(inner) == leaves(original)
        assert (
            inner.as_bytes(policy=policy.SMTP).split(b"\r\n\r\n", 1)[1]
            == (original.as_bytes(policy=policy.SMTP).split(b"\r\n\r\n", 1)[1])
        )


def test_gnupg_opens_plain_text_message_for_one_recipient(gnupg_homes, keys):
    original = EmailMessage()
    original["From"], original["To"], original["Subject"] = "x@example.net", "ann@example.org", "Hi"
    original.set_content("Just text.\n")
    original = canonical(original)
    inner = gpg_opens(gnupg_homes["ann"], encrypt_message(original, [keys["ann"]]))
    assert inner.get_content_type() == "text/plain"
    assert inner.get_payload(decode=True) == original.get_payload(decode=True)


def test_gnupg_cannot_open_without_being_a_recipient(gnupg_homes, keys):
    message = EmailMessage()
    message.set_content("for bob only")
    encrypted = encrypt_message(message, [keys["bob"]])
    armored = encrypted.get_payload()[1].get_payload(decode=True)
    done = subprocess.run(
        ["gpg", "--homedir", str(gnupg_homes["ann"].home), "--batch", "--decrypt"],
        input=armored,
        capture_output=True,
    )
    assert done.returncode != 0 and b"for bob only" not in done.stdout


def test_our_decrypt_helper_opens_gnupg_output_for_our_key(gnupg_homes, keys):
    entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nVon GnuPG: \xc3\xa4\r\n"
    armored = gnupg_homes["bob"].run("--encrypt", "--armor", "-r", "ann@example.org", data=entity)
    assert openpgp.decrypt(armored, keys["ann"]) == entity
    wrapped = pgp_mime_around(armored)
    assert is_encrypted(wrapped)
    opened = decrypt_message(wrapped, keys["ann"])
    assert opened["Subject"] == "from gpg" and opened.get_content() == "Von GnuPG: ä\r\n"


def pgp_mime_around(armored: bytes) -> EmailMessage:
    raw = (
        b"From: bob@example.org\r\nTo: ann@example.org\r\nSubject: from gpg\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; boundary="b";\r\n'
        b' protocol="application/pgp-encrypted"\r\n\r\n'
        b"--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
        b'--b\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
        + armored.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        + b"\r\n--b--\r\n"
    )
    return PARSER.parsebytes(raw)


def test_already_encrypted_input_passes_untouched(gnupg_homes, keys):
    armored = gnupg_homes["bob"].run("--encrypt", "--armor", "-r", "ann@example.org", data=b"x")
    pgp_mime = pgp_mime_around(armored)
    assert encrypt_message(pgp_mime, [keys["bob"]]) is pgp_mime
    inline = EmailMessage()
    inline["Subject"] = "inline"
    inline.set_content(armored.decode())
    assert encrypt_message(inline, [keys["bob"]]) is inline
    smime = PARSER.parsebytes(
        b"Subject: s/mime\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(os.urandom(300))
    )
    assert encrypt_message(smime, [keys["bob"]]) is smime
    signed_only = PARSER.parsebytes(
        b"Subject: s/mime signed\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(os.urandom(300))
    )
    assert encrypt_message(signed_only, [keys["bob"]]).get_content_type() == "multipart/encrypted"


def test_key_generated_by_gnupg_is_a_recipient(gnupg_homes):
    carol = gnupg_homes["carol"]
    carol.run("--quick-generate-key", "carol@example.net", "ed25519", "cert,sign", "never")
    fingerprint = next(
        line.split(":")[9]
        for line in carol.run("--with-colons", "--list-keys", "carol@example.net")
        .decode()
        .split("\n")
        if line.startswith("fpr:")
    )
    carol.run("--quick-add-key", fingerprint, "cv25519", "encr", "never")
    public = openpgp.parse_key(carol.run("--export", "--armor", "carol@example.net"))
    message = EmailMessage()
    message["Subject"] = "to a gpg key"
    message.set_content("Hello Carol\n")
    inner = gpg_opens(carol, encrypt_message(canonical(message), [public]))
    assert inner.get_payload(decode=True) == canonical(message).get_payload(decode=True)


def test_message_without_a_usable_key_fails_closed(keys):
    message = EmailMessage()
    message.set_content("must never go out in clear")
    with pytest.raises(UndeliverableKey):
        encrypt_message(message, [])
