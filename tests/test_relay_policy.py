"""The relay's policy and message reading as plain functions: who gets which copy."""

from __future__ import annotations

import pgpy
import pytest
from pgpy.constants import EllipticCurveOID, KeyFlags, PubKeyAlgorithm

from crypto import openpgp
from crypto.pgpmime import split_header
from crypto.relay_message import read
from crypto.relay_policy import Copy, Deposit, plan
from crypto.smtp_reply import SmtpReply

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)
LOCAL = ("ann@murmeli.test", "bob@murmeli.test", "cat@murmeli.test")


@pytest.fixture(scope="module")
def keys() -> dict[str, openpgp.PGPKey]:
    made = {address: openpgp.new_key(address).pubkey for address in LOCAL}
    made["out@else.test"] = openpgp.new_key("out@else.test").pubkey
    return made


class FakeKeys:
    def __init__(self, keys: dict[str, openpgp.PGPKey]) -> None:
        self.keys = keys
        self.outside_lookups: list[tuple[str, str]] = []

    def local_key(self, address: str) -> openpgp.PGPKey | None:
        return self.keys.get(address) if address in LOCAL else None

    def outside_key(self, sender: str, address: str) -> openpgp.PGPKey | None:
        self.outside_lookups.append((sender, address))
        return self.keys.get(address) if address not in LOCAL else None


def message(*fields: str, body: str = "Hello.\r\n") -> bytes:
    return ("\r\n".join(fields) + "\r\n\r\n" + body).encode()


def fingerprints(copy: Copy) -> set[str]:
    return {key.fingerprint for key in copy.keys}


def test_local_recipients_share_one_copy_encrypted_to_them_and_the_local_sender(keys):
    raw = message("From: ann@murmeli.test", "To: bob@murmeli.test, cat@murmeli.test")
    decided = plan("ann@murmeli.test", LOCAL[1:], read(raw), FakeKeys(keys))
    (copy,) = decided.copies
    assert copy.recipients == LOCAL[1:]
    assert fingerprints(copy) == {keys[a].fingerprint for a in LOCAL}


def test_outside_sender_to_local_recipient_encrypts_to_the_recipient_only(keys):
    raw = message("From: x@else.test", "To: bob@murmeli.test")
    (copy,) = plan("x@else.test", ["bob@murmeli.test"], read(raw), FakeKeys(keys)).copies
    assert fingerprints(copy) == {keys["bob@murmeli.test"].fingerprint}


def test_bcc_recipients_get_a_copy_each_encrypted_only_to_them_and_the_sender(keys):
    raw = message("From: ann@murmeli.test", "To: bob@murmeli.test", "Bcc: cat@murmeli.test")
    decided = plan("ann@murmeli.test", ["bob@murmeli.test", "cat@murmeli.test"], read(raw),
                   FakeKeys(keys))  # fmt: skip
    visible, hidden = decided.copies
    assert visible.recipients == ("bob@murmeli.test",)
    assert hidden.recipients == ("cat@murmeli.test",)
    assert fingerprints(hidden) == {
        keys["cat@murmeli.test"].fingerprint,
        keys["ann@murmeli.test"].fingerprint,
    }
    assert keys["cat@murmeli.test"].fingerprint not in fingerprints(visible)


def test_outside_recipients_go_plain_in_one_copy_unless_encryption_is_requested(keys):
    raw = message("From: ann@murmeli.test", "To: a@else.test, out@else.test", "Bcc: z@else.test")
    lookups = FakeKeys(keys)
    recipients = ["a@else.test", "out@else.test", "z@else.test"]
    (copy,) = plan("ann@murmeli.test", recipients, read(raw), lookups).copies
    assert copy == Copy(tuple(recipients), ())
    assert lookups.outside_lookups == []


def test_requested_encryption_uses_outside_keys_then_passwords(keys):
    raw = message(
        "From: ann@murmeli.test",
        "To: out@else.test, pw@else.test, bob@murmeli.test",
        "X-Murmeli-Encrypt: yes",
        "X-Murmeli-Secure-Password: pw@else.test  correct horse battery",
    )
    recipients = ["out@else.test", "pw@else.test", "bob@murmeli.test"]
    decided = plan("ann@murmeli.test", recipients, read(raw), FakeKeys(keys))
    (copy,) = decided.copies
    assert copy.recipients == ("out@else.test", "bob@murmeli.test")
    assert fingerprints(copy) == {
        keys[a].fingerprint for a in ("out@else.test", "bob@murmeli.test", "ann@murmeli.test")
    }
    assert decided.deposits == (Deposit("pw@else.test", "correct horse battery"),)


def test_requested_encryption_without_key_or_password_refuses_the_whole_message(keys):
    raw = message("From: ann@murmeli.test", "To: bob@murmeli.test, a@else.test, b@else.test",
                  "X-Murmeli-Encrypt: yes")  # fmt: skip
    with pytest.raises(SmtpReply) as refused:
        plan("ann@murmeli.test", ["bob@murmeli.test", "a@else.test", "b@else.test"], read(raw),
             FakeKeys(keys))  # fmt: skip
    assert refused.value.code == 550 and not refused.value.temporary
    assert refused.value.reply.startswith("550 5.7.1 ")
    assert "a@else.test" in refused.value.reply and "b@else.test" in refused.value.reply


def test_an_unusable_outside_key_is_not_used_and_the_refusal_says_why(keys):
    signing_only = pgpy.PGPKey.new(PubKeyAlgorithm.EdDSA, EllipticCurveOID.Ed25519)
    signing_only.add_uid(pgpy.PGPUID.new("old@else.test"), usage={KeyFlags.Sign})
    lookups = FakeKeys({**keys, "old@else.test": signing_only.pubkey})
    raw = message("From: ann@murmeli.test", "To: old@else.test", "X-Murmeli-Encrypt: yes")
    with pytest.raises(SmtpReply, match=r"old@else\.test .*no encryption subkey"):
        plan("ann@murmeli.test", ["old@else.test"], read(raw), lookups)


def test_already_encrypted_messages_go_to_everyone_untouched(keys):
    raw = message(
        "From: x@else.test",
        "To: bob@murmeli.test",
        'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"',
        body="--b--\r\n",
    )
    read_message = read(raw)
    assert read_message.encrypted and read_message.raw == raw
    (copy,) = plan("x@else.test", ["bob@murmeli.test"], read_message, FakeKeys(keys)).copies
    assert copy == Copy(("bob@murmeli.test",), ())


def test_reading_removes_the_relay_fields_and_bcc_and_keeps_the_rest_byte_for_byte():
    raw = message(
        "From: Ann <ann@murmeli.test>",
        "To: bob@murmeli.test",
        "Bcc: cat@murmeli.test",
        "X-Murmeli-Encrypt: yes",
        "X-Murmeli-Secure-Password: pw@else.test s3cret pass",
        "Subject: =?utf-8?q?=C3=9Cber?=",
        body="Body \xe4\r\n.\r\n",
    )
    read_message = read(raw)
    fields, body = split_header(read_message.raw)
    assert [f.split(b":")[0] for f in fields] == [b"From", b"To", b"Subject"]
    assert body == raw.split(b"\r\n\r\n", 1)[1]
    assert read_message.authors == ("ann@murmeli.test",)
    assert read_message.visible == {"bob@murmeli.test"}
    assert read_message.encryption_requested
    assert read_message.passwords == {"pw@else.test": "s3cret pass"}


def test_reading_canonicalises_bare_line_feeds():
    read_message = read(b"From: a@else.test\nTo: b@else.test\n\nline\n")
    assert read_message.raw == b"From: a@else.test\r\nTo: b@else.test\r\n\r\nline\r\n"


@pytest.mark.parametrize(
    "field",
    ["X-Murmeli-Encrypt: please", "X-Murmeli-Secure-Password: nopassword@else.test"],
)
def test_malformed_relay_fields_are_refused(field):
    with pytest.raises(SmtpReply, match=r"^550 5\.6\.0 X-Murmeli"):
        read(message("From: a@else.test", field))
