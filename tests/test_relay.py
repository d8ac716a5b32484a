"""The OpenPGP relay as a real process: smtplib and swaks as clients, a real SMTP sink as next
hop, and GnuPG opening every encrypted copy with the key exported from Murmeli."""

from __future__ import annotations

import dataclasses
import shutil
import signal
import smtplib
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from config import loader
from crypto import openpgp
from crypto.armor import armor
from crypto.wrapping import new_kek
from davserver.services import Services
from tests.murmeli_process import MURMELI, MurmeliServer, unique_name
from tests.ports import free_port
from tests.smtp_sink import smtp_sink
from tests.test_crypto_interop import (
    PASSPHRASE,
    GnuPG,
    canonical,
    gpg_opens,
    html_message_with_inline_image_and_attachment,
    leaves,
    structure,
)
from tests.test_crypto_wkd import certificate_for
from tests.test_tls import self_signed

pytestmark = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning:pgpy"
)
SINK_LOGIN = ("relay", "sink-password-1")
MAX_SIZE = 512 * 1024
TEAM = "team.murmeli.test"  # the module relay's relay.local_domains: addresses with no user


@dataclasses.dataclass
class RelayUnderTest:
    server: MurmeliServer
    config: Path
    submission: int
    content_filter: int
    certificate: str
    sink: object
    users: dict[str, tuple[str, str, str]]  # short name -> (user, password, address)
    homes: dict[str, GnuPG] = dataclasses.field(default_factory=dict)

    def add_user(self, short: str) -> None:
        name = unique_name(short)
        address = f"{name}@murmeli.test"
        password = f"pw-{name}-secret"
        done = self.server.cli("user", "add", name, "--password-stdin", "--email", address,
                               stdin=password + "\n")  # fmt: skip
        assert done.returncode == 0, done.stderr
        self.users[short] = (name, password, address)

    def address(self, short: str) -> str:
        return self.users[short][2]

    def gnupg(self, short: str) -> GnuPG:
        """A GNUPGHOME holding the private key Murmeli made for the user, as exported."""
        if short not in self.homes:
            exported = self.services().key_store.export_private(self.address(short), PASSPHRASE)
            home = GnuPG(Path(tempfile.mkdtemp(prefix="gpg")))
            home.run("--import", data=exported.encode())
            self.homes[short] = home
        return self.homes[short]

    def services(self) -> Services:
        return services_of(self.server, self.config)

    def received_since(self, count: int) -> list[EmailMessage]:
        return self.sink.messages[count:]

    def content_filter_send(self, sender: str, recipients: list[str], data: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.content_filter, timeout=60) as smtp:
            smtp.sendmail(sender, recipients, data)

    def submit(self, short: str, recipients: list[str], data: bytes, sender: str = "") -> None:
        name, password, address = self.users[short]
        with smtplib.SMTP("127.0.0.1", self.submission, timeout=60) as smtp:
            smtp.starttls(context=ssl.create_default_context(cafile=self.certificate))
            smtp.login(name, password)
            smtp.sendmail(sender or address, recipients, data)


def services_of(server: MurmeliServer, config: Path) -> Services:
    """The relay's services, in this process: same configuration and data folder."""
    settings = loader.load(config)
    return Services(
        dataclasses.replace(settings, server=dataclasses.replace(settings.server, data=server.data))
    )


def relay_config(folder: Path, sink_port: int, sink_certificate: str, **overrides) -> Path:
    certificate, key = self_signed(folder)
    (folder / "kek").write_text(new_kek())
    (folder / "sink-password").write_text(SINK_LOGIN[1])
    values = {
        "submission": free_port(),
        "content_filter": free_port(),
        "trusted": "127.0.0.0/8",
        "next_hop_port": sink_port,
        "next_hop_ca": sink_certificate,
        "local_domains": "[]",
        **overrides,
    }
    config = folder / "murmeli.yaml"
    config.write_text(
        "server:\n"
        "  base_url: https://murmeli.test\n"
        "smtp:\n"
        "  host: 127.0.0.1\n"
        f"  port: {sink_port}\n"
        f"  username: {SINK_LOGIN[0]}\n"
        f"  password_file: {folder / 'sink-password'}\n"
        f"  ca_file: {sink_certificate}\n"
        "  from_address: murmeli@murmeli.test\n"
        "relay:\n"
        "  enabled: true\n"
        f"  kek_file: {folder / 'kek'}\n"
        f"  max_message_size: {MAX_SIZE}\n"
        f"  local_domains: {values['local_domains']}\n"
        "  submission:\n"
        f"    listen: 127.0.0.1:{values['submission']}\n"
        f"    certificate: {certificate}\n"
        f"    key: {key}\n"
        "  content_filter:\n"
        f"    listen: 127.0.0.1:{values['content_filter']}\n"
        f"    trusted: {values['trusted']}\n"
        "  next_hop:\n"
        "    host: 127.0.0.1\n"
        f"    port: {values['next_hop_port']}\n"
        "    security: starttls\n"
        f"    username: {SINK_LOGIN[0]}\n"
        f"    password_file: {folder / 'sink-password'}\n"
        f"    ca_file: {values['next_hop_ca']}\n"
    )
    return config


def wait_for(log: list[str], text: str) -> None:
    deadline = time.monotonic() + 30
    while not any(text in line for line in log):
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n" + "".join(log)
        time.sleep(0.05)


@pytest.fixture(scope="module")
def relay(tmp_path_factory) -> Iterator[RelayUnderTest]:
    folder = tmp_path_factory.mktemp("relay")
    (folder / "sink").mkdir()
    with smtp_sink(folder / "sink", SINK_LOGIN) as (sink, sink_certificate, sink_port):
        config = relay_config(folder, sink_port, sink_certificate, local_domains=f"[{TEAM}]")
        server = MurmeliServer(folder / "data", config=config).start()
        settings = loader.load(config).relay
        wait_for(server.log, "relay content filter listening")
        under_test = RelayUnderTest(
            server,
            config,
            settings.submission.listen.port,
            settings.content_filter.listen.port,
            str(settings.submission.certificate),
            sink,
            {},
        )
        for short in ("ann", "bob", "carol", "dave"):
            under_test.add_user(short)
        yield under_test
        assert server.stop() == 0
        for home in under_test.homes.values():
            subprocess.run(["gpgconf", "--homedir", str(home.home), "--kill", "all"], check=False)
            shutil.rmtree(home.home, ignore_errors=True)


def plain_message(sender: str, to: str, subject: str, **fields: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = "Tue, 02 Jan 2024 10:00:00 +0100"
    message["Message-ID"] = f"<{unique_name('m')}@murmeli.test>"
    for name, value in fields.items():
        message[name.replace("_", "-")] = value
    message.set_content("Hello,\nthe figures are attached.\n")
    message.add_attachment(bytes(range(256)) * 40, "application", "octet-stream", filename="f.bin")
    return canonical(message)


def wire(message: EmailMessage) -> bytes:
    """The message as SMTP carries it: CRLF line ends."""
    return message.as_bytes(policy=policy.SMTP)


def assert_opens_to(home: GnuPG, received: EmailMessage, original: EmailMessage) -> None:
    """gpg decrypts the copy; structure, headers and every part are those sent, byte for byte."""
    for name in ("From", "To", "Cc", "Date", "Message-ID", "Subject"):
        assert received[name] == original[name]
    assert "Bcc" not in received and "X-Murmeli-Encrypt" not in received
    inner = gpg_opens(home, received)
    assert structure(inner) == structure(original)
    assert leaves(inner) == leaves(original)
    assert wire(inner).split(b"\r\n\r\n", 1)[1] == wire(original).split(b"\r\n\r\n", 1)[1]


def cannot_open(home: GnuPG, received: EmailMessage) -> bool:
    armored = received.get_payload()[1].get_payload(decode=True)
    done = subprocess.run(
        ["gpg", "--homedir", str(home.home), "--batch", "--decrypt"],
        input=armored,
        capture_output=True,
    )
    return done.returncode != 0


def test_incoming_mail_for_a_local_user_is_encrypted_to_their_key(relay):
    before = len(relay.sink.messages)
    original = plain_message("x@elsewhere.test", relay.address("bob"), "Für Bob: Zahlen")
    relay.content_filter_send("x@elsewhere.test", [relay.address("bob")], wire(original))
    (received,) = relay.received_since(before)
    assert received["X-Envelope-To"] == relay.address("bob")
    assert b"the figures are attached" not in relay.sink.raw[before]
    assert_opens_to(relay.gnupg("bob"), received, original)


def test_several_visible_recipients_share_one_copy_each_can_open(relay):
    before = len(relay.sink.messages)
    original = plain_message(
        "x@elsewhere.test", f"{relay.address('bob')}, {relay.address('carol')}", "To both",
        Cc=relay.address("dave"),
    )  # fmt: skip
    recipients = [relay.address(short) for short in ("bob", "carol", "dave")]
    relay.content_filter_send("x@elsewhere.test", recipients, wire(original))
    (received,) = relay.received_since(before)
    assert received["X-Envelope-To"] == ", ".join(recipients)
    for short in ("bob", "carol", "dave"):
        assert_opens_to(relay.gnupg(short), received, original)


def test_a_bcc_recipient_gets_a_separate_copy_only_they_can_open(relay):
    before = len(relay.sink.messages)
    sent = plain_message("x@elsewhere.test", relay.address("bob"), "With a Bcc",
                         Bcc=relay.address("carol"))  # fmt: skip
    expected = canonical(sent)
    del expected["Bcc"]
    relay.content_filter_send(
        "x@elsewhere.test", [relay.address("bob"), relay.address("carol")], wire(sent)
    )
    visible, hidden = relay.received_since(before)
    assert visible["X-Envelope-To"] == relay.address("bob")
    assert hidden["X-Envelope-To"] == relay.address("carol")
    assert_opens_to(relay.gnupg("bob"), visible, expected)
    assert_opens_to(relay.gnupg("carol"), hidden, expected)
    assert cannot_open(relay.gnupg("carol"), visible)
    assert cannot_open(relay.gnupg("bob"), hidden)
    assert b"\r\nBcc:" not in relay.sink.raw[before] + relay.sink.raw[before + 1]


def test_a_local_sender_can_open_the_copy_too_html_with_inline_image(relay):
    before = len(relay.sink.messages)
    original = html_message_with_inline_image_and_attachment()
    for name, short in (("From", "ann"), ("To", "bob")):
        original.replace_header(name, relay.address(short))
    del original["Cc"], original["Bcc"]
    original = canonical(original)
    relay.submit("ann", [relay.address("bob")], wire(original))
    (received,) = relay.received_since(before)
    assert_opens_to(relay.gnupg("bob"), received, original)
    assert_opens_to(relay.gnupg("ann"), received, original)


def test_outside_recipient_gets_plain_mail_without_the_relay_fields(relay):
    before = len(relay.sink.messages)
    original = plain_message(
        relay.address("ann"), "friend@elsewhere.test", "Plain", X_Murmeli_Encrypt="no",
        X_Murmeli_Secure_Password="friend@elsewhere.test otter-password-7",
        Bcc="hidden@elsewhere.test",
    )  # fmt: skip
    sent = wire(original)
    relay.submit("ann", ["friend@elsewhere.test"], sent)
    header, body = sent.split(b"\r\n\r\n", 1)
    relay_fields = (b"x-murmeli-encrypt:", b"x-murmeli-secure-password:", b"bcc:")
    kept = [line for line in header.split(b"\r\n") if not line.lower().startswith(relay_fields)]
    assert len(kept) == len(header.split(b"\r\n")) - len(relay_fields)
    assert relay.sink.raw[before] == b"\r\n".join(kept) + b"\r\n\r\n" + body


def test_already_encrypted_mail_passes_untouched(relay):
    armored = relay.gnupg("ann").run(
        "--encrypt", "--armor", "--trust-model", "always", "-r", relay.address("ann"),
        data=b"Content-Type: text/plain\r\n\r\nsecret\r\n",
    )  # fmt: skip
    data = (
        (
            f"From: x@elsewhere.test\r\nTo: {relay.address('bob')}\r\nSubject: pre-encrypted\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; boundary="b";\r\n'
            ' protocol="application/pgp-encrypted"\r\n\r\n'
            "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
            '--b\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n\r\n'
        ).encode()
        + armored.replace(b"\n", b"\r\n")
        + b"\r\n--b--\r\n"
    )
    before = len(relay.sink.messages)
    relay.content_filter_send("x@elsewhere.test", [relay.address("bob")], data)
    assert relay.sink.raw[before] == data


def test_requested_encryption_without_key_or_password_is_refused_and_nothing_sent(relay):
    before = len(relay.sink.messages)
    original = plain_message(relay.address("ann"), "nokey@elsewhere.test", "Secret",
                             X_Murmeli_Encrypt="yes")  # fmt: skip
    with pytest.raises(smtplib.SMTPDataError) as refused:
        relay.submit("ann", ["nokey@elsewhere.test", relay.address("bob")], wire(original))
    assert refused.value.smtp_code == 550
    assert (
        b"5.7.1" in refused.value.smtp_error and b"nokey@elsewhere.test" in refused.value.smtp_error
    )
    assert relay.received_since(before) == []


def test_requested_encryption_uses_the_key_the_sender_imported_for_an_outside_recipient(
    relay, tmp_path
):
    friend = openpgp.new_key("friend@elsewhere.test")
    exported = friend.__copy__()
    exported.protect(PASSPHRASE, openpgp.CIPHERS[0], openpgp.HASHES[0])
    home = GnuPG(Path(tempfile.mkdtemp(prefix="gpg")))
    relay.homes["friend"] = home
    home.run("--import", data=armor("PRIVATE KEY BLOCK", bytes(exported)).encode())
    relay.services().recipient_keys.add(
        relay.users["ann"][0], "friend@elsewhere.test", openpgp.armored_public_key(friend)
    )
    before = len(relay.sink.messages)
    sent = plain_message(relay.address("ann"), "friend@elsewhere.test", "For your eyes",
                         X_Murmeli_Encrypt="yes")  # fmt: skip
    expected = canonical(sent)
    del expected["X-Murmeli-Encrypt"]
    relay.submit("ann", ["friend@elsewhere.test"], wire(sent))
    (received,) = relay.received_since(before)
    assert_opens_to(home, received, expected)
    assert_opens_to(relay.gnupg("ann"), received, expected)


def test_requested_encryption_deposits_behind_the_password_and_notifies_the_recipient(relay):
    before = len(relay.sink.messages)
    sent = plain_message(
        relay.address("ann"), f"stranger@elsewhere.test, {relay.address('bob')}", "Behind a page",
        X_Murmeli_Encrypt="yes",
        X_Murmeli_Secure_Password="stranger@elsewhere.test long enough password",
    )  # fmt: skip
    relay.submit("ann", ["stranger@elsewhere.test", relay.address("bob")], wire(sent))
    received = relay.received_since(before)
    (notice,) = [m for m in received if m["X-Envelope-To"] == "stranger@elsewhere.test"]
    (for_bob,) = [m for m in received if m["X-Envelope-To"] == relay.address("bob")]
    assert "https://murmeli.test/api/secure/" in notice.get_body(("plain",)).get_content()
    assert for_bob.get_content_type() == "multipart/encrypted"
    everything = b"".join(relay.sink.raw[before:])
    assert b"the figures are attached" not in everything
    assert b"long enough password" not in everything and b"X-Murmeli" not in everything


def test_swaks_submits_with_starttls_and_auth(relay):
    before = len(relay.sink.messages)
    name, password, address = relay.users["ann"]
    done = subprocess.run(
        ["swaks", "--server", "127.0.0.1", "--port", str(relay.submission),
         "--tls", "--tls-verify", "--tls-ca-path", relay.certificate,
         "--auth", "PLAIN", "--auth-user", name, "--auth-password", password,
         "--from", address, "--to", relay.address("carol"),
         "--header", "Subject: via swaks", "--body", "Hello from swaks"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (received,) = relay.received_since(before)
    assert received["Subject"] == "via swaks"
    inner = gpg_opens(relay.gnupg("carol"), received)
    assert b"Hello from swaks" in inner.get_payload(decode=True)


def submission_session(relay: RelayUnderTest, tls: bool = True) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", relay.submission, timeout=60)
    if tls:
        smtp.starttls(context=ssl.create_default_context(cafile=relay.certificate))
    smtp.ehlo()
    return smtp


def test_submission_refuses_without_auth_with_a_wrong_password_and_for_foreign_senders(relay):
    name, password, address = relay.users["ann"]
    with submission_session(relay) as smtp:
        assert smtp.mail(address)[0] == 530
    with submission_session(relay) as smtp, pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(name, password + "-wrong")
    with submission_session(relay) as smtp:
        smtp.login(name, password)
        code, text = smtp.mail(relay.address("bob"))
        assert code == 553 and b"5.7.1" in text
    before = len(relay.sink.messages)
    forged = plain_message(relay.address("bob"), "friend@elsewhere.test", "Forged From")
    with submission_session(relay) as smtp:
        smtp.login(name, password)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail(address, ["friend@elsewhere.test"], wire(forged))
        assert refused.value.smtp_code == 550
    assert relay.received_since(before) == []


def test_submission_refuses_auth_before_starttls(relay):
    with submission_session(relay, tls=False) as smtp:
        smtp.ehlo()
        code, text = smtp.docmd("AUTH", "PLAIN")
        assert code == 530 and b"STARTTLS" in text


def test_messages_over_the_size_limit_are_refused_with_552(relay):
    name, password, address = relay.users["ann"]
    with submission_session(relay) as smtp:
        smtp.login(name, password)
        assert smtp.has_extn("size") and int(smtp.esmtp_features["size"]) == MAX_SIZE
        code, text = smtp.mail(address, [f"SIZE={MAX_SIZE + 1}"])
        assert code == 552 and text.startswith(b"5.3.4")
        smtp.rset()
        head = f"From: {address}\r\nTo: friend@elsewhere.test\r\nSubject: Large\r\n\r\n"
        data = head.encode() + (b"y" * 998 + b"\r\n") * (MAX_SIZE // 1000 + 1)
        assert smtp.mail(address)[0] == 250  # no SIZE declared: refused after DATA
        assert smtp.rcpt("friend@elsewhere.test")[0] == 250
        code, text = smtp.data(data)
        assert code == 552 and text.startswith(b"5.3.4")


def test_murmeli_relay_refuses_untrusted_peers_and_answers_451_when_the_next_hop_is_down(
    tmp_path,
):
    (tmp_path / "sink").mkdir()
    with smtp_sink(tmp_path / "sink", SINK_LOGIN) as (_, sink_certificate, _):
        config = relay_config(tmp_path, free_port(), sink_certificate, trusted="10.0.0.0/8")
    server = MurmeliServer(tmp_path / "data", config=config)
    done = server.cli("user", "add", "eve", "--password-stdin", "--email", "eve@murmeli.test",
                      stdin="eve-password-1\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    settings = loader.load(config).relay
    process = subprocess.Popen(
        [*MURMELI, "relay"], stderr=subprocess.PIPE, text=True, env=server.environment()
    )
    try:
        log: list[str] = []
        for line in process.stderr:
            log.append(line)
            if "relay content filter listening" in line:
                break
        else:
            pytest.fail("murmeli relay did not start:\n" + "".join(log))
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", settings.content_filter.listen.port, timeout=30)
        assert refused.value.smtp_code == 554
        with smtplib.SMTP("127.0.0.1", settings.submission.listen.port, timeout=60) as smtp:
            smtp.starttls(
                context=ssl.create_default_context(cafile=str(settings.submission.certificate))
            )
            smtp.login("eve", "eve-password-1")
            message = plain_message("eve@murmeli.test", "friend@elsewhere.test", "Down")
            with pytest.raises(smtplib.SMTPDataError) as unavailable:
                smtp.sendmail("eve@murmeli.test", ["friend@elsewhere.test"], wire(message))
            assert unavailable.value.smtp_code == 451
            assert unavailable.value.smtp_error.startswith(b"4.4.1")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_a_message_retried_after_the_next_hop_failed_is_deposited_and_notified_once(tmp_path):
    """The deposit comes before the next hop: retries after 451 must not make another."""
    for folder in ("notices", "next-hop"):
        (tmp_path / folder).mkdir()
    hop_port = free_port()
    hop_certificate, _ = self_signed(tmp_path / "next-hop")
    with smtp_sink(tmp_path / "notices", SINK_LOGIN) as (notices, certificate, port):
        config = relay_config(
            tmp_path, port, certificate, next_hop_port=hop_port, next_hop_ca=hop_certificate
        )
        server = MurmeliServer(tmp_path / "data", config=config)
        done = server.cli("user", "add", "fay", "--password-stdin", "--email", "fay@murmeli.test",
                          stdin="fay-password-1\n")  # fmt: skip
        assert done.returncode == 0, done.stderr
        server.start()
        try:
            wait_for(server.log, "relay content filter listening")
            submission = loader.load(config).relay.submission
            recipients = ["stranger@elsewhere.test", "fay@murmeli.test"]
            message = wire(
                plain_message(
                    "fay@murmeli.test", ", ".join(recipients), "Retried",
                    X_Murmeli_Encrypt="yes",
                    X_Murmeli_Secure_Password="stranger@elsewhere.test long enough password",
                )
            )  # fmt: skip

            def submit() -> None:
                with smtplib.SMTP("127.0.0.1", submission.listen.port, timeout=60) as smtp:
                    smtp.starttls(
                        context=ssl.create_default_context(cafile=str(submission.certificate))
                    )
                    smtp.login("fay", "fay-password-1")
                    smtp.sendmail("fay@murmeli.test", recipients, message)

            # The next hop refuses the relay's login (a sink that would hang here fails the test).
            with (
                smtp_sink(tmp_path / "next-hop", ("relay", "other"), port=hop_port),
                pytest.raises(smtplib.SMTPDataError) as refused,
            ):
                submit()
            assert refused.value.smtp_code == 451 and refused.value.smtp_error.startswith(b"4.7.0")
            with pytest.raises(smtplib.SMTPDataError) as unavailable:
                submit()  # nothing listens
            assert unavailable.value.smtp_code == 451
            with smtp_sink(tmp_path / "next-hop", SINK_LOGIN, port=hop_port) as (hop, _, _):
                submit()
            (copy,) = hop.messages
            assert copy["X-Envelope-To"] == "fay@murmeli.test"
            assert len(notices.to("stranger@elsewhere.test")) == 1
            deposits = services_of(server, config).secure_delivery.every()
            assert [d["recipient"] for d in deposits] == ["stranger@elsewhere.test"]
        finally:
            assert server.stop() == 0


def gnupg_for(relay: RelayUnderTest, address: str) -> GnuPG:
    """A GNUPGHOME with the private key Murmeli holds for ``address``, as exported."""
    exported = relay.services().key_store.export_private(address, PASSPHRASE)
    home = GnuPG(Path(tempfile.mkdtemp(prefix="gpg")))
    home.run("--import", data=exported.encode())
    relay.homes[address] = home
    return home


def test_every_address_of_a_local_domain_is_encrypted_at_rest_without_an_account(relay):
    before = len(relay.sink.messages)
    desk, outside = f"desk@{TEAM}", "desk@elsewhere.test"
    for recipient in (desk, outside):
        original = plain_message("x@elsewhere.test", recipient, f"For {recipient}")
        relay.content_filter_send("x@elsewhere.test", [recipient], wire(original))
        (received,) = relay.received_since(before)
        before += 1
        if recipient == outside:
            assert relay.sink.raw[-1] == wire(original)  # not local: passes as it came
            continue
        assert received.get_content_type() == "multipart/encrypted"
        assert_opens_to(gnupg_for(relay, desk), received, original)
    filed = [key.address for key in relay.services().key_store.stored()]
    assert desk in filed and outside not in filed


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("rcpt", "550 5.1.1 no such mailbox"),
        ("rcpt", "452 4.2.2 mailbox full"),
        ("data", "554 5.7.1 rejected by content policy"),
        ("data", "451 4.3.0 try again later"),
    ],
)
def test_the_next_hops_refusals_are_passed_on_as_they_are(relay, stage, reply):
    code, status, text = reply.split(" ", 2)
    recipient = f"{unique_name('r')}@elsewhere.test"
    if stage == "rcpt":
        relay.sink.refusals[recipient] = reply
    else:
        relay.sink.data_refusal = reply
    before = len(relay.sink.messages)
    message = wire(plain_message(relay.address("ann"), recipient, "Refused"))
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            relay.submit("ann", [recipient], message)
    finally:
        relay.sink.data_refusal = None
    assert refused.value.smtp_code == int(code)
    assert refused.value.smtp_error.startswith(status.encode())
    assert text.encode() in refused.value.smtp_error
    assert relay.received_since(before) == []


def test_requested_encryption_finds_the_recipients_key_in_their_web_key_directory(tmp_path):
    """``relay.wkd_lookup``: the relay asks the recipient's domain (here another Murmeli
    serving WKD over verified HTTPS) and encrypts to the key it publishes."""
    (tmp_path / "directory").mkdir()
    certificate, key = certificate_for(tmp_path / "directory", "openpgpkey.example.net")
    (tmp_path / "directory" / "kek").write_text(new_kek())
    directory_config = tmp_path / "directory" / "murmeli.yaml"
    directory_config.write_text(
        f"server:\n  tls:\n    certificate: {certificate}\n    key: {key}\n"
        f"relay:\n  kek_file: {tmp_path / 'directory' / 'kek'}\n"
    )
    directory = MurmeliServer(tmp_path / "directory" / "data", config=directory_config)
    added = directory.cli("user", "add", "bob", "--no-password", "--email", "bob@example.net")
    assert added.returncode == 0, added.stderr
    exported = directory.cli(
        "keys", "export", "bob@example.net", "--private", "--passphrase-stdin",
        stdin=PASSPHRASE + "\n",
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    bob = GnuPG(Path(tempfile.mkdtemp(prefix="gpg")))
    bob.run("--import", data=exported.stdout.encode())
    directory.start()
    (tmp_path / "sink").mkdir()
    try:
        with smtp_sink(tmp_path / "sink", SINK_LOGIN) as (sink, sink_certificate, sink_port):
            config = relay_config(tmp_path, sink_port, sink_certificate)
            with config.open("a") as extra:
                extra.write(
                    "  wkd_lookup: true\n"
                    f"  wkd_ca_file: {certificate}\n"
                    f"  wkd_connect_to: {directory.url.removeprefix('https://')}\n"
                )
            relay = MurmeliServer(tmp_path / "data", config=config)
            done = relay.cli("user", "add", "gil", "--password-stdin", "--email",
                             "gil@murmeli.test", stdin="gil-password-1\n")  # fmt: skip
            assert done.returncode == 0, done.stderr
            relay.start()
            try:
                wait_for(relay.log, "relay content filter listening")
                submission = loader.load(config).relay.submission
                sent = plain_message("gil@murmeli.test", "bob@example.net", "Found by WKD",
                                     X_Murmeli_Encrypt="yes")  # fmt: skip
                with smtplib.SMTP("127.0.0.1", submission.listen.port, timeout=60) as smtp:
                    smtp.starttls(
                        context=ssl.create_default_context(cafile=str(submission.certificate))
                    )
                    smtp.login("gil", "gil-password-1")
                    smtp.sendmail("gil@murmeli.test", ["bob@example.net"], wire(sent))
            finally:
                assert relay.stop() == 0
            (received,) = sink.messages
            expected = canonical(sent)
            del expected["X-Murmeli-Encrypt"]
            assert_opens_to(bob, received, expected)
            wait_for(directory.log, "/.well-known/openpgpkey/example.net/hu/")
    finally:
        directory.stop()
        subprocess.run(["gpgconf", "--homedir", str(bob.home), "--kill", "all"], check=False)
        shutil.rmtree(bob.home, ignore_errors=True)
