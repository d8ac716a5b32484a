"""Password guessing on a real server: every failed login is logged once and delayed, on
``/api/`` as in the DAV tree; repeated failures lock the account (and the address), even
against the right password, until ``murmeli user unlock`` lifts it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import requests
from aiosmtpd.smtp import LoginPassword

from crypto.relay_smtp import account_login
from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import Directory
from davserver.accounts.lockout import LoginLockout
from davserver.database import Database
from davserver.settings import LoginLockoutSettings
from tests.murmeli_process import MurmeliServer, unique_name

ATTEMPTS, ADDRESS_ATTEMPTS = 3, 8


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[MurmeliServer]:
    folder = tmp_path_factory.mktemp("lockout")
    config = folder / "murmeli.yaml"
    config.write_text(
        "server:\n  login_lockout:\n"
        f"    attempts: {ATTEMPTS}\n    address_attempts: {ADDRESS_ATTEMPTS}\n"
    )
    running = MurmeliServer(folder / "data", config=config).start()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def address_forgiven(request: pytest.FixtureRequest) -> None:
    """The server tests here fail logins from 127.0.0.1: each starts with its count at 0."""
    if "server" in request.fixturenames:
        running = request.getfixturevalue("server")
        assert running.cli("user", "unlock", "--address", "127.0.0.1").returncode == 0


def api_login(server: MurmeliServer, auth: tuple[str, str]) -> requests.Response:
    return requests.get(f"{server.url}/api/me", auth=auth, timeout=30)


def dav_login(server: MurmeliServer, auth: tuple[str, str]) -> int:
    return requests.request(
        "PROPFIND", f"{server.url}/{auth[0]}/", headers={"Depth": "0"}, auth=auth, timeout=30
    ).status_code


def failure_lines(server: MurmeliServer, login: str, count: int) -> list[str]:
    """The server's failed-login lines for ``login``, once there are ``count`` (or more)."""
    pattern = re.compile(rf"Failed login attempt from 127\.0\.0\.1: '{re.escape(login)}'")
    deadline = time.monotonic() + 30
    while True:
        lines = [line for line in list(server.log) if pattern.search(line)]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_failed_logins_are_logged_once_and_delayed_on_the_api_as_in_the_dav_tree(server):
    name, _ = server.add_user("guess")
    assert api_login(server, (name, "wrong-1")).status_code == 401
    assert dav_login(server, (name, "wrong-2")) == 401
    lines = failure_lines(server, name, 2)
    assert len(lines) == 2
    assert "wrong" not in "".join(lines)
    api_line = next(line for line in lines if "(/api/me" in line)
    delay = float(re.search(r"answered after ([0-9.]+) s", api_line)[1])
    assert delay >= 0.5  # auth.delay (1 s) times 0.5 to 1.5, as Radicale waits


def test_repeated_failures_lock_the_account_even_for_the_right_password(server):
    name, password = server.add_user("guess")
    for attempt in range(ATTEMPTS):
        assert api_login(server, (name, f"wrong-{attempt}")).status_code == 401
    locked = api_login(server, (name, password))
    assert locked.status_code == 429
    assert "murmeli user unlock" in locked.json()["error"]
    assert dav_login(server, (name, password)) == 401
    lines = failure_lines(server, name, ATTEMPTS + 2)
    assert len(lines) == ATTEMPTS + 2
    assert "locked out" in lines[ATTEMPTS]

    other, other_password = server.add_user("bystander")
    assert api_login(server, (other, other_password)).status_code == 200

    unlocked = server.cli("user", "unlock", name)
    assert unlocked.returncode == 0 and "forgotten" in unlocked.stdout
    assert api_login(server, (name, password)).status_code == 200
    assert dav_login(server, (name, password)) == 207


def test_guesses_through_the_schedule_outbox_count_too(server):
    name, password = server.add_user("guess")
    outbox = f"{server.url}/{name}/schedule-outbox/"
    for attempt in range(ATTEMPTS):
        guess = requests.post(outbox, data=b"x", auth=(name, f"wrong-{attempt}"), timeout=30)
        assert guess.status_code == 401
    assert len(failure_lines(server, name, ATTEMPTS)) == ATTEMPTS
    assert api_login(server, (name, password)).status_code == 429


def test_the_lockout_survives_a_restart(server):
    name, password = server.add_user("guess")
    for attempt in range(ATTEMPTS):
        assert dav_login(server, (name, f"wrong-{attempt}")) == 401
    server.stop()
    server.start()
    assert api_login(server, (name, password)).status_code == 429
    assert server.cli("user", "unlock", name).returncode == 0
    assert api_login(server, (name, password)).status_code == 200


def test_failures_from_one_address_across_names_lock_the_address(server):
    name, password = server.add_user("sprayed")
    for _ in range(ADDRESS_ATTEMPTS):
        assert api_login(server, (unique_name("nobody"), "guess")).status_code == 401
    assert api_login(server, (name, password)).status_code == 429
    lifted = server.cli("user", "unlock", "--address", "127.0.0.1")
    assert lifted.returncode == 0 and "forgotten" in lifted.stdout
    assert api_login(server, (name, password)).status_code == 200


def test_guesses_through_smtp_submission_lock_the_account(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    Directory(database).add("ann", "the-right-password", "collaborator", None, ())
    lockout = LoginLockout(database, LoginLockoutSettings(attempts=2))
    authenticate = account_login(Authenticator(database, lockout))
    session = SimpleNamespace(peer=("192.0.2.7", 40000))

    def submit(password: str) -> bool:
        data = LoginPassword(b"ann", password.encode())
        return authenticate(None, session, None, "PLAIN", data).success

    assert not submit("guess-1") and not submit("guess-2")
    assert not submit("the-right-password")
    assert lockout.unlock("account", "ann")
    assert submit("the-right-password")


def test_failures_count_within_the_window_and_the_lockout_ends_after_its_duration(
    tmp_path, monkeypatch
):
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    database = Database(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    Directory(database).add("ann", "the-right-password", "collaborator", None, ())
    settings = LoginLockoutSettings(attempts=2, window=60, duration=120)
    authenticator = Authenticator(database, LoginLockout(database, settings))

    def login(password: str, after: float) -> str:
        now[0] += after
        result = authenticator.login("ann", password, "192.0.2.8")
        return "locked" if result.locked else result.user

    assert login("guess-1", 0) == ""
    assert login("guess-2", 61) == ""  # the first one has left the window
    assert login("the-right-password", 1) == "ann"
    assert login("guess-3", 1) == ""  # two within the window: locked from here
    assert login("the-right-password", 1) == "locked"
    assert login("the-right-password", 119) == "ann"  # 120 s after the lock-out began
