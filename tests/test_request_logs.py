"""Acceptance: what the server logs about requests cannot be forged and keeps no secret.

Each request's access line is its last log line, so the tests wait for it and
then read everything the request logged.
"""

from __future__ import annotations

import base64
import secrets

import pytest
import requests

from tests.test_importer_jobs import wait_for

FAKE = "2026-01-01 00:00:00,000 INFO murmeli.access: 10.0.0.1 admin"


def lines_of(server, before: int, mark: str) -> list[str]:
    """The log lines since ``before``, once the access line holding ``mark`` is written."""
    wait_for(lambda: any(mark in line for line in server.log[before:]), f"log line {mark!r}")
    return server.log[before:]


@pytest.fixture
def user(server):
    return server.add_user("logs")


def test_a_newline_in_the_login_forges_no_log_line(server, user):
    before = len(server.log)
    forged = base64.b64encode(f"evil\n{FAKE}:password".encode()).decode()
    answer = requests.request(
        "PROPFIND",
        f"{server.url}/{user[0]}/forging/",
        headers={"Depth": "0", "Authorization": f"Basic {forged}"},
    )
    assert answer.status_code == 401
    lines = lines_of(server, before, "/forging/")
    assert not any(line.startswith(FAKE[:20]) for line in lines), "".join(lines)
    assert any("evil\\x0a" in line for line in lines), "".join(lines)


def test_a_failed_login_line_shows_no_python_object(server, user):
    before = len(server.log)
    answer = requests.request(
        "PROPFIND",
        f"{server.url}/{user[0]}/failing/",
        auth=(user[0], "wrong password"),
        headers={"Depth": "0"},
    )
    assert answer.status_code == 401
    lines = [line for line in lines_of(server, before, "/failing/") if "Failed login" in line]
    assert lines, "Radicale no longer logs failed logins"
    assert not any(" object at 0x" in line or "functools" in line for line in lines), lines


def test_a_missing_login_is_answered_authentication_required(server, user):
    answer = requests.request("PROPFIND", f"{server.url}/{user[0]}/", headers={"Depth": "0"})
    assert answer.status_code == 401
    assert "authentication required" in answer.text
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "prefix", ["/api/reminders/stop/", "/api/secure/", "/api/scheduling/answer/"]
)
def test_link_secrets_are_shortened_in_the_log(server, prefix):
    token = secrets.token_urlsafe(32)
    suffix = "/accept" if "answer" in prefix else ""
    before = len(server.log)
    answer = requests.get(f"{server.url}{prefix}{token}{suffix}")
    assert answer.status_code in (400, 404, 410)
    lines = lines_of(server, before, f"{prefix}{token[:4]}…")
    assert not any(token in line for line in lines), "".join(lines)
    assert not any(token[:12] in line for line in lines), "".join(lines)
