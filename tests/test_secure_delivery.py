"""Password-protected messages without a server: the seal, the store, the counter, the expiry.

The database is a real SQLite file, the clock the file clock the acceptance
tests use, and notifications go to the real SMTP sink over verified STARTTLS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from crypto.message_view import attachment, view
from crypto.password_seal import Argon2id, WrongPassword, derive_key, seal, unseal
from crypto.secure_delivery import (
    DeliveryError,
    Gone,
    Locked,
    NotificationFailed,
    Refused,
    SecureDelivery,
    Unknown,
)
from crypto.secure_store import SecureMessageStore
from crypto.settings import RelaySettings
from davserver.clock import FileClock
from davserver.database import Database
from davserver.mail import Mailer
from davserver.settings import SmtpSettings
from davserver.tables import secure_messages
from tests.smtp_sink import Sink, smtp_sink

LOGIN = ("relay", "sink-password")
PASSWORD = "correct horse battery"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_seal_round_trip_and_wrong_password():
    sealed = seal(b"secret text", PASSWORD, b"id-1")
    assert sealed.kdf == str(Argon2id())
    assert b"secret text" not in sealed.sealed
    assert unseal(sealed.sealed, derive_key(PASSWORD, sealed), b"id-1") == b"secret text"
    with pytest.raises(WrongPassword):
        unseal(sealed.sealed, derive_key("wrong password", sealed), b"id-1")
    with pytest.raises(WrongPassword):  # moved to another row
        unseal(sealed.sealed, derive_key(PASSWORD, sealed), b"id-2")


def test_each_seal_has_its_own_salt_and_nonce():
    first, second = seal(b"same", PASSWORD, b"id"), seal(b"same", PASSWORD, b"id")
    assert first.salt != second.salt
    assert first.sealed != second.sealed


def test_kdf_parameters_are_read_back():
    assert Argon2id.parse("argon2id:t=4:m=131072:p=1") == Argon2id(4, 131072, 1)
    with pytest.raises(ValueError):
        Argon2id.parse("pbkdf2:i=1")


def mail(html: str | None = None, attachment_bytes: bytes | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.org>"
    message["To"] = "bob@outside.example"
    message["Subject"] = "Contract"
    message.set_content("plain body")
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment_bytes is not None:
        message.add_attachment(
            attachment_bytes, maintype="application", subtype="pdf", filename="contract.pdf"
        )
    return bytes(message)


class Clock(FileClock):
    def __init__(self, path) -> None:
        super().__init__(path)
        self.set(START)

    def set(self, instant: datetime) -> None:
        self._path.write_text(instant.isoformat())

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


@pytest.fixture(scope="module")
def sink(tmp_path_factory) -> Iterator[tuple[Sink, str, int]]:
    with smtp_sink(tmp_path_factory.mktemp("smtp"), LOGIN) as running:
        yield running


@pytest.fixture
def setup(tmp_path, sink) -> tuple[SecureDelivery, Clock, Database, Sink]:
    handler, certificate, port = sink
    (tmp_path / "smtp-password").write_text(LOGIN[1])
    mailer = Mailer(
        SmtpSettings(
            host="127.0.0.1",
            port=port,
            username=LOGIN[0],
            password_file=tmp_path / "smtp-password",
            from_address="murmeli@example.org",
            ca_file=certificate,
        )
    )
    database = Database(f"sqlite:///{tmp_path / 'murmeli.sqlite3'}")
    clock = Clock(tmp_path / "clock")
    delivery = SecureDelivery(
        SecureMessageStore(database),
        mailer,
        clock,
        RelaySettings(secure_message_attempts=3),
        "https://mail.example.org/",
    )
    return delivery, clock, database, handler


def deposit(delivery: SecureDelivery, sink: Sink, raw: bytes) -> str:
    """The token of the link in the notification."""
    recipient = f"bob{os.urandom(4).hex()}@outside.example"
    delivery.deposit("alice@example.org", recipient, raw, PASSWORD)
    (notice,) = sink.to(recipient)
    body = notice.get_content()
    link = next(line for line in body.splitlines() if line.startswith("https://"))
    assert link.startswith("https://mail.example.org/api/secure/")
    assert "Contract" not in body and "plain body" not in body
    assert notice["From"] == "Alice Example <alice@example.org>"
    return link.rsplit("/", 1)[1]


def rows(database: Database) -> int:
    with database.reader() as connection:
        return connection.execute(select(func.count()).select_from(secure_messages)).scalar()


def test_right_password_opens_the_message_and_its_session_reads_it_again(setup):
    delivery, _, database, sink = setup
    raw = mail(attachment_bytes=b"%PDF-1.7 \x00\xff binary")
    token = deposit(delivery, sink, raw)
    with database.reader() as connection:
        stored = connection.execute(select(secure_messages)).one()
    assert raw not in stored.sealed and PASSWORD.encode() not in stored.sealed
    assert token.split(".")[1] not in stored.link_digest
    opened = delivery.open(token, PASSWORD)
    assert opened.raw == raw
    assert delivery.read(token, opened.session) == raw
    assert delivery.read(token, "not-the-session") is None
    assert attachment(opened.raw, 0) == ("contract.pdf", b"%PDF-1.7 \x00\xff binary")


def test_a_link_with_a_wrong_secret_opens_nothing(setup):
    delivery, _, _, sink = setup
    token = deposit(delivery, sink, mail())
    message_id, _, secret = token.partition(".")
    other = "B" if secret.endswith("A") else "A"
    with pytest.raises(Unknown):
        delivery.find(f"{message_id}.{secret[:-1]}{other}")


def test_wrong_passwords_count_down_then_lock_and_the_sender_is_told(setup):
    delivery, _, _, sink = setup
    token = deposit(delivery, sink, mail())
    with pytest.raises(Refused) as first:
        delivery.open(token, "wrong password 1")
    assert first.value.attempts_left == 2
    assert delivery.open(token, PASSWORD).raw  # a right one gives its attempt back
    with pytest.raises(Refused) as second:
        delivery.open(token, "wrong password 2")
    assert second.value.attempts_left == 1
    with pytest.raises(Locked):
        delivery.open(token, "wrong password 3")
    with pytest.raises(Locked):  # even the right password, now
        delivery.open(token, PASSWORD)
    (notice,) = [m for m in sink.to("alice@example.org") if "locked" in m["Subject"]][-1:]
    assert "3 wrong passwords" in notice.get_content()
    (summary,) = [s for s in delivery.of_sender("alice@example.org") if s["id"] in token]
    assert summary["locked"] and summary["failures"] == 3
    delivery.unlock(summary["id"])
    assert delivery.open(token, PASSWORD).raw


def test_revoked_message_is_gone_and_its_text_dropped(setup):
    delivery, _, database, sink = setup
    token = deposit(delivery, sink, mail())
    delivery.revoke(token.split(".")[0])
    with pytest.raises(Gone) as gone:
        delivery.open(token, PASSWORD)
    assert gone.value.reason == "revoked"
    with database.reader() as connection:
        assert connection.execute(select(secure_messages.c.sealed)).scalar() is None


def test_expired_message_is_deleted_on_access_and_by_the_sweep(setup):
    delivery, clock, database, sink = setup
    visited = deposit(delivery, sink, mail())
    deposit(delivery, sink, mail())
    clock.advance(timedelta(days=29, hours=23))
    assert delivery.sweep() == 0
    assert delivery.find(visited)
    clock.advance(timedelta(hours=1))
    with pytest.raises(Gone) as gone:
        delivery.open(visited, PASSWORD)
    assert gone.value.reason == "expired"
    assert rows(database) == 1
    assert delivery.sweep() == 1
    assert rows(database) == 0


def test_made_up_links_are_unknown_and_ended_ones_say_why_after_the_sweep(setup):
    delivery, clock, _, sink = setup
    expired = deposit(delivery, sink, mail())
    withdrawn = deposit(delivery, sink, mail())
    delivery.revoke(withdrawn.split(".")[0])
    message_id, _, secret = expired.partition(".")
    for made_up in ("no-such-link", f"{message_id}.{secret[::-1]}", f"x{message_id}.{secret}"):
        with pytest.raises(Unknown):
            delivery.find(made_up)

    clock.advance(timedelta(days=31))
    assert delivery.sweep() == 2
    for token, reason in ((expired, "expired"), (withdrawn, "revoked")):
        with pytest.raises(Gone) as gone:
            delivery.open(token, PASSWORD)
        assert gone.value.reason == reason
    with pytest.raises(Unknown):
        delivery.find(f"{message_id}.{secret[::-1]}")

    clock.advance(timedelta(days=366))
    delivery.sweep()
    with pytest.raises(Unknown):
        delivery.find(expired)


@pytest.mark.parametrize(
    ("sender", "recipient", "password", "reason"),
    [
        ("alice@example.org", "bob@outside.example", "short", "password too short"),
        ("alice@example.org", "bob@outside.example\r\nBcc: x@y", PASSWORD, "recipient"),
        ("nobody", "bob@outside.example", PASSWORD, "sender"),
    ],
)
def test_bad_deposits_are_refused_and_store_nothing(setup, sender, recipient, password, reason):
    delivery, _, database, _ = setup
    with pytest.raises(DeliveryError, match=reason):
        delivery.deposit(sender, recipient, mail(), password)
    assert rows(database) == 0


def test_no_notification_means_nothing_stored(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'murmeli.sqlite3'}")
    unreachable = Mailer(
        SmtpSettings(host="127.0.0.1", port=1, security="none", from_address="m@example.org")
    )
    delivery = SecureDelivery(
        SecureMessageStore(database),
        unreachable,
        Clock(tmp_path / "c"),
        RelaySettings(),
        "https://x",
    )
    with pytest.raises(NotificationFailed, match="notification"):  # temporary: 451 in the relay
        delivery.deposit("alice@example.org", "bob@outside.example", mail(), PASSWORD)
    assert rows(database) == 0
    no_url = SecureDelivery(
        SecureMessageStore(database), unreachable, Clock(tmp_path / "c"), RelaySettings(), None
    )
    with pytest.raises(DeliveryError, match=r"server\.base_url"):
        no_url.deposit("alice@example.org", "bob@outside.example", mail(), PASSWORD)


def test_html_is_sanitised_and_only_inline_images_are_kept():
    message = EmailMessage()
    message["From"] = "alice@example.org"
    message["Subject"] = "Pictures"
    message.set_content("text")
    message.add_alternative(
        '<p onclick="steal()">Hello<script>steal()</script>'
        '<img src="https://tracker.example/pixel.gif"><img src="cid:logo@x">'
        '<a href="javascript:steal()">bad</a><a href="https://ok.example/">ok</a></p>',
        subtype="html",
    )
    message.get_payload()[1].add_related(b"\x89PNG fake", "image", "png", cid="<logo@x>")
    shown = view(bytes(message))
    assert shown.html is not None
    assert "script" not in shown.html and "onclick" not in shown.html
    assert "tracker.example" not in shown.html and "javascript" not in shown.html
    assert 'src="data:image/png;base64,' in shown.html
    assert 'href="https://ok.example/"' in shown.html
    assert ("Subject", "Pictures") in shown.headers
