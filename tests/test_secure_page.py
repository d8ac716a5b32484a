"""Password-protected delivery end to end: a real server, a real SMTP sink, real Chromium.

Messages are deposited through ``murmeli secure-message send`` (the same
``SecureDelivery.deposit`` the relay calls), the notification is read from
the sink, and the link is opened in Debian's Chromium driven by Playwright.
A local HTTP server stands for a tracker: the message's remote image points
at it, and it must never be asked. Time is moved with ``server.test_clock_file``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.murmeli_process import MurmeliServer, unique_name
from tests.ports import free_port
from tests.smtp_sink import Sink, smtp_sink

SMTP_LOGIN = ("murmeli", "sink-password")
PASSWORD = "tangerine-otter-42"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
# A valid 1x1 PNG: the inline image must really render.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


class Tracker(BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - one list shared by every handler instance

    def do_GET(self) -> None:
        Tracker.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(PIXEL)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def tracker() -> Iterator[str]:
    Tracker.requests.clear()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    Thread(target=receiver.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{receiver.server_address[1]}"
    receiver.shutdown()


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[tuple[MurmeliServer, Sink, Path]]:
    folder = tmp_path_factory.mktemp("secure")
    with smtp_sink(folder, SMTP_LOGIN) as (sink, certificate, smtp_port):
        (folder / "smtp-password").write_text(SMTP_LOGIN[1])
        clock = folder / "clock"
        clock.write_text(START.isoformat())
        kek = folder / "kek"
        kek.write_text(base64.b64encode(os.urandom(32)).decode())
        kek.chmod(0o600)
        port = free_port()
        config = folder / "murmeli.yaml"
        config.write_text(
            f"""server:
  base_url: http://127.0.0.1:{port}/
  test_clock_file: {clock}
smtp:
  host: 127.0.0.1
  port: {smtp_port}
  username: {SMTP_LOGIN[0]}
  password_file: {folder / "smtp-password"}
  from_address: murmeli@example.org
  ca_file: {certificate}
relay:
  kek_file: {kek}
  secure_message_sweep: 200ms
"""
        )
        server = MurmeliServer(folder / "data", config=config).start(
            "--listen", f"127.0.0.1:{port}"
        )
        yield server, sink, clock
        server.stop()
    server.assert_log_clean()


@pytest.fixture(autouse=True)
def clock(setup) -> Path:
    """The server's clock file, at ``START`` when each test begins, whatever the last one did."""
    setup[2].write_text(START.isoformat())
    return setup[2]




@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def alice(setup) -> tuple[str, str, str]:
    server = setup[0]
    name, password = unique_name("alice"), f"pw-{uuid.uuid4().hex}"
    address = f"{name}@example.org"
    result = server.cli(
        "user", "add", name, "--password-stdin", "--email", address, stdin=password + "\n"
    )
    assert result.returncode == 0, result.stderr
    return name, password, address


def message(tracker: str, attachment: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Alice Example <alice@example.org>"
    mail["To"] = "bob@outside.example"
    mail["Subject"] = "Quarterly report"
    mail["Date"] = "Mon, 01 Mar 2027 09:00:00 +0000"
    mail.set_content("Hello Bob, the report is attached.")
    mail.add_alternative(
        '<p id="greeting">Hello Bob, the report is attached.</p>'
        "<script>document.title = 'pwned'; window.pwned = true;</script>"
        f'<img id="remote" src="{tracker}/pixel.png">'
        '<img id="logo" src="cid:logo@example.org">'
        f'<img src="x" onerror="window.pwned = true; fetch(\'{tracker}/onerror\')">',
        subtype="html",
    )
    mail.get_payload()[1].add_related(PIXEL, "image", "png", cid="<logo@example.org>")
    mail.add_attachment(attachment, maintype="application", subtype="pdf", filename="report.pdf")
    return bytes(mail)


def deposit(setup, sender: str, raw: bytes) -> tuple[str, str]:
    """Sends ``raw`` by password to a fresh recipient: (secure message id, link)."""
    server, sink, _ = setup
    recipient = f"{unique_name('bob')}@outside.example"
    eml = server.data.parent / f"{recipient}.eml"
    eml.write_bytes(raw)
    result = server.cli(
        "secure-message", "send", str(eml), "--from", sender, "--to", recipient,
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    message_id = result.stdout.strip().splitlines()[-1]
    (notice,) = sink.to(recipient)
    text = notice.get_content()
    assert "Quarterly report" not in text and "report is attached" not in text
    assert "password" in text and "by phone" in text
    (link,) = re.findall(r"http://\S+", text)
    assert link.startswith(f"{server.url}/api/secure/{message_id}.")
    return message_id, link


def sent_messages(setup, user: tuple[str, str, str]) -> dict[str, dict]:
    response = requests.get(f"{setup[0].url}/api/secure-messages", auth=user[:2], timeout=30)
    assert response.status_code == 200, response.text
    return {m["id"]: m for m in response.json()["messages"]}


def type_password(page: Page, password: str) -> None:
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')


def test_the_recipient_reads_the_message_and_downloads_the_attachment(setup, alice, tracker, page):
    attachment = os.urandom(200_000)
    message_id, link = deposit(setup, alice[2], message(tracker, attachment))

    response = page.goto(link)
    assert response is not None and response.status == 200
    headers = response.headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    expect(page.locator("body")).to_contain_text(alice[2])

    type_password(page, "not the password")
    expect(page.locator(".error")).to_have_text("Wrong password: 4 attempts left.")
    assert "report is attached" not in page.content()

    type_password(page, PASSWORD)
    expect(page.locator(".body p")).to_have_text("Hello Bob, the report is attached.")
    expect(page.locator("dl")).to_contain_text("Quarterly report")
    assert page.title() != "pwned"
    assert page.evaluate("window.pwned === undefined")
    sources = page.eval_on_selector_all(".body img", "all => all.map(i => [i.src, i.naturalWidth])")
    assert [width for source, width in sources if source.startswith("data:image/png")] == [1]
    assert not [source for source, _ in sources if tracker in source]
    assert Tracker.requests == []

    with page.expect_download() as download:
        page.click("text=report.pdf")
    assert download.value.suggested_filename == "report.pdf"
    assert Path(download.value.path()).read_bytes() == attachment

    # Without the reading session (another browser, a forwarded URL) nothing downloads.
    stranger = requests.get(f"{link}/attachments/0", timeout=30)
    assert stranger.status_code == 403 and attachment not in stranger.content

    shown = sent_messages(setup, alice)[message_id]
    assert shown["failures"] == 1 and not shown["locked"] and not shown["revoked"]
    assert shown["subject"] == "Quarterly report"


def test_repeated_wrong_passwords_lock_the_message_and_the_sender_sees_it(setup, alice, page):
    message_id, link = deposit(setup, alice[2], message("http://127.0.0.1:9", b"pdf"))
    page.goto(link)
    for left in (4, 3, 2, 1):
        type_password(page, f"guess {left}")
        expect(page.locator(".error")).to_contain_text(f"{left} attempt")
    type_password(page, "guess 0")
    expect(page.locator("h1")).to_have_text("Message locked")

    page.goto(link)
    expect(page.locator("h1")).to_have_text("Message locked")
    status = requests.post(link, data={"password": PASSWORD}, timeout=30)
    assert status.status_code == 403 and "report is attached" not in status.text

    shown = sent_messages(setup, alice)[message_id]
    assert shown["locked"] and shown["failures"] == 5
    notices = [m for m in setup[1].to(alice[2]) if "locked" in m["Subject"]]
    assert len(notices) == 1

    unlocked = requests.post(
        f"{setup[0].url}/api/secure-messages/{message_id}/unlock", auth=alice[:2], timeout=30
    )
    assert unlocked.status_code == 204
    page.goto(link)
    type_password(page, PASSWORD)
    expect(page.locator(".body p")).to_be_visible()


def test_the_sender_revokes_the_message_and_nobody_else_can(setup, alice, page):
    message_id, link = deposit(setup, alice[2], message("http://127.0.0.1:9", b"pdf"))
    mallory = setup[0].add_user("mallory")
    refused = requests.delete(
        f"{setup[0].url}/api/secure-messages/{message_id}", auth=mallory, timeout=30
    )
    assert refused.status_code == 404
    revoked = requests.delete(
        f"{setup[0].url}/api/secure-messages/{message_id}", auth=alice[:2], timeout=30
    )
    assert revoked.status_code == 204

    response = page.goto(link)
    assert response is not None and response.status == 410
    expect(page.locator("h1")).to_have_text("Message withdrawn")
    assert sent_messages(setup, alice)[message_id]["revoked"]


def test_bad_requests_get_a_page_that_says_why(setup, alice):
    _, link = deposit(setup, alice[2], message("http://127.0.0.1:9", b"%PDF"))
    unknown = requests.get(f"{setup[0].url}/api/secure/no-such-link", timeout=30)
    assert unknown.status_code == 404 and "No secure message was sent" in unknown.text
    empty = requests.post(link, timeout=30)
    assert empty.status_code == 400 and "password" in empty.text
    reader = requests.Session()
    assert reader.post(link, data={"password": PASSWORD}, timeout=30).status_code == 200
    assert reader.get(f"{link}/attachments/0", timeout=30).content == b"%PDF"
    for index in ("1", "x", "-1"):
        missing = reader.get(f"{link}/attachments/{index}", timeout=30)
        assert missing.status_code == 404 and "No such attachment" in missing.text


def count(setup, message_id: str) -> int:
    with sqlite3.connect(setup[0].data / "murmeli.sqlite3") as connection:
        query = "SELECT count(*) FROM secure_messages WHERE id = ?"
        return connection.execute(query, (message_id,)).fetchone()[0]


def test_after_thirty_days_the_link_says_expired_and_the_message_is_deleted(
    setup, alice, page, clock
):
    visited_id, visited = deposit(setup, alice[2], message("http://127.0.0.1:9", b"pdf"))
    forgotten_id, forgotten = deposit(setup, alice[2], message("http://127.0.0.1:9", b"pdf"))
    clock.write_text((START + timedelta(days=29)).isoformat())
    page.goto(visited)
    expect(page.locator("h1")).to_have_text("Secure message")

    clock.write_text((START + timedelta(days=31)).isoformat())
    response = page.goto(visited)
    assert response is not None and response.status == 410
    expect(page.locator("h1")).to_have_text("Link expired")
    expect(page.locator("body")).to_contain_text("30 days")
    assert count(setup, visited_id) == 0
    assert page.goto(visited).status == 410

    deadline = time.monotonic() + 30
    while count(setup, forgotten_id):
        assert time.monotonic() < deadline, "the sweeper did not delete the expired message"
        time.sleep(0.1)
    assert page.goto(forgotten).status == 410
    expect(page.locator("h1")).to_have_text("Link expired")


def listed(setup, sender: str) -> dict[str, dict]:
    result = setup[0].cli("secure-message", "list", "--from", sender, "--json")
    assert result.returncode == 0, result.stderr
    return {m["id"]: m for m in json.loads(result.stdout)}


def test_the_operator_lists_unlocks_and_revokes_with_the_cli(setup):
    server = setup[0]
    # A sender of its own: the lock-out notice this test causes is nobody else's count.
    sender = f"{unique_name('sender')}@example.org"
    message_id, link = deposit(setup, sender, message("http://127.0.0.1:9", b"%PDF"))
    assert listed(setup, sender)[message_id]["failures"] == 0
    table = server.cli("secure-message", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "FROM", "TO", "EXPIRES", "FAILURES", "STATE"]
    (row,) = [line.split() for line in table if line.startswith(message_id)]
    assert (row[1], row[-2], row[-1]) == (sender, "0", "readable")

    for attempt in range(5):
        assert requests.post(link, data={"password": f"guess {attempt}"}, timeout=30).ok is False
    assert listed(setup, sender)[message_id]["locked"]
    (row,) = [line.split() for line in server.cli("secure-message", "list").stdout.splitlines()
              if line.startswith(message_id)]  # fmt: skip
    assert row[-1] == "locked"
    assert requests.post(link, data={"password": PASSWORD}, timeout=30).status_code == 403

    unlocked = server.cli("secure-message", "unlock", message_id)
    assert unlocked.returncode == 0, unlocked.stderr
    assert listed(setup, sender)[message_id]["failures"] == 0
    opened = requests.post(link, data={"password": PASSWORD}, timeout=30)
    assert opened.status_code == 200 and "report is attached" in opened.text

    revoked = server.cli("secure-message", "revoke", message_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "410" in revoked.stdout
    assert listed(setup, sender)[message_id]["revoked"]
    assert requests.get(link, timeout=30).status_code == 410

    for action in ("revoke", "unlock"):
        unknown = server.cli("secure-message", action, "no-such-id")
        assert unknown.returncode == 2
        assert "no secure message no-such-id" in unknown.stderr
