"""``davserver.mail.Mailer`` against a real SMTP server: verified STARTTLS with a login,
and no plain-text fallback when TLS cannot be had."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from davserver.mail import Mailer, MailError
from davserver.settings import SmtpSettings
from tests.smtp_sink import smtp_sink
from tests.test_tls import self_signed

LOGIN = ("murmeli", "mail-test-secret")


def message() -> EmailMessage:
    sent = EmailMessage()
    sent["To"] = "bob@example.org"
    sent["Subject"] = "Hello"
    sent.set_content("Hello Bob\n")
    return sent


def mailer(folder: Path, port: int, ca_file: str) -> Mailer:
    password_file = folder / "password"
    password_file.write_text(LOGIN[1] + "\n")
    return Mailer(
        SmtpSettings(
            host="127.0.0.1",
            port=port,
            username=LOGIN[0],
            password_file=password_file,
            from_address="murmeli@example.org",
            ca_file=Path(ca_file),
            timeout=10,
        )
    )


def test_starttls_with_a_verified_certificate_and_a_login_delivers(tmp_path):
    with smtp_sink(tmp_path, LOGIN) as (sink, certificate, port):
        mailer(tmp_path, port, certificate).send(message())
    (received,) = sink.to("bob@example.org")
    assert received["From"] == "murmeli@example.org"
    assert received.get_content().strip() == "Hello Bob"


def test_a_certificate_from_another_authority_is_refused(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    untrusted, _ = self_signed(other)
    with (
        smtp_sink(tmp_path, LOGIN) as (sink, _, port),
        pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        mailer(tmp_path, port, untrusted).send(message())
    assert sink.messages == []


def test_no_plain_text_fallback_when_the_server_offers_no_starttls(tmp_path):
    with (
        smtp_sink(tmp_path, LOGIN, starttls=False) as (sink, certificate, port),
        pytest.raises(MailError, match="STARTTLS"),
    ):
        mailer(tmp_path, port, certificate).send(message())
    assert sink.messages == []
