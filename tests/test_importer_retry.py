"""Which failures are retried and which end a job at once."""

from __future__ import annotations

import socket
import ssl

from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from importer.connection import ImapEndpoint
from importer.retry import ConnectFailure, backoff, classify

SOURCE = ImapEndpoint("imap.example.com", 993, "tls", "alice", "pw")


def test_a_refused_login_is_permanent_and_names_the_side() -> None:
    failure = classify(ConnectFailure("source", SOURCE, LoginError("[AUTHENTICATIONFAILED] no")))
    assert failure.permanent
    assert failure.reason.startswith("authentication failed at source imap.example.com:993")


def test_an_app_password_demand_says_so() -> None:
    error = LoginError("[ALERT] Application-specific password required")
    failure = classify(ConnectFailure("source", SOURCE, error))
    assert failure.permanent and "app password" in failure.reason


def test_tls_and_name_failures_are_permanent() -> None:
    certificate = ssl.SSLCertVerificationError("certificate verify failed")
    assert classify(ConnectFailure("source", SOURCE, certificate)).permanent
    assert "TLS certificate invalid" in classify(certificate).reason
    assert classify(socket.gaierror("Name or service not known")).permanent
    assert classify(IMAPClientError("create failed: [NOPERM] no")).permanent


def test_dropped_connections_and_throttling_are_retried() -> None:
    assert not classify(IMAPClientAbortError("socket error: EOF")).permanent
    assert not classify(TimeoutError("timed out")).permanent
    assert not classify(ConnectionResetError()).permanent
    gmail = LoginError("[ALERT] Too many simultaneous connections. (Failure)")
    assert not classify(ConnectFailure("source", SOURCE, gmail)).permanent
    assert not classify(IMAPClientError("fetch failed: [THROTTLED] slow down")).permanent


def test_microsofts_suggested_backoff_is_followed() -> None:
    error = IMAPClientError(
        "select failed: Request is throttled. Suggested Backoff Time: 92415 milliseconds"
    )
    failure = classify(error)
    assert not failure.permanent and failure.wait == 92.415


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 10, 60) for n in range(5)] == [10, 20, 40, 60, 60]
