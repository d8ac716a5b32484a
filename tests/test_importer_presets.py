"""Provider presets: the server a user never has to type."""

from __future__ import annotations

import pytest

from importer.presets import PresetError, SourceServer, source_server


@pytest.mark.parametrize(
    ("address", "host"),
    [
        ("alice@gmail.com", "imap.gmail.com"),
        ("Alice@GoogleMail.com", "imap.gmail.com"),
        ("bob@outlook.com", "outlook.office365.com"),
        ("bob@hotmail.co.uk", "outlook.office365.com"),
        ("bob@live.de", "outlook.office365.com"),
        ("carol@yahoo.fr", "imap.mail.yahoo.com"),
        ("dan@gmx.ch", "imap.gmx.net"),
        ("dan@gmx.com", "imap.gmx.com"),
        ("erin@me.com", "imap.mail.me.com"),
        ("frank@bluewin.ch", "imaps.bluewin.ch"),
    ],
)
def test_common_providers_are_found_from_the_address(address: str, host: str) -> None:
    server = source_server(address, None, None)
    assert (server.host, server.port, server.security) == (host, 993, "tls")


def test_google_and_microsoft_need_oauth_or_app_passwords() -> None:
    assert source_server("a@gmail.com", None, None).needs_oauth
    assert source_server("a@company.ch", "microsoft", None).needs_oauth
    assert source_server("a@company.ch", "imap.gmail.com", None).needs_oauth
    assert not source_server("a@gmx.de", None, None).needs_oauth


def test_an_unknown_domain_needs_a_server_whose_port_follows_the_security() -> None:
    with pytest.raises(PresetError, match="--server"):
        source_server("a@example.com", None, None)
    assert source_server("a@example.com", "mail.example.com", None) == SourceServer(
        "mail.example.com", 993, "tls"
    )
    assert source_server("a@example.com", "mail.example.com", "starttls").port == 143
    assert source_server("a@example.com", "mail.example.com:1143", "none").port == 1143
    assert source_server("a@example.com", "[::1]:993", None).host == "::1"


@pytest.mark.parametrize("server", ["mail example.com", "host:0", "host:99999", "a:b"])
def test_a_malformed_server_is_refused(server: str) -> None:
    with pytest.raises(PresetError, match="HOST"):
        source_server("a@example.com", server, None)


def test_an_address_without_domain_is_refused() -> None:
    with pytest.raises(PresetError, match="not an email address"):
        source_server("alice", None, None)
