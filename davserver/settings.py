"""The server's sections of the configuration file: ``server``, ``database``, ``accounts``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.schema import (
    Listen,
    boolean,
    byte_size,
    choice,
    duration,
    integer,
    listen,
    option,
    optional,
    path,
    section,
    text,
)


@dataclass(frozen=True)
class TlsSettings:
    certificate: Path | None = option(None, optional(path), "PEM certificate chain; enables HTTPS")
    key: Path | None = option(None, optional(path), "PEM private key of the certificate")

    def __post_init__(self) -> None:
        if (self.certificate is None) != (self.key is None):
            raise ValueError("certificate and key must be given together")


@dataclass(frozen=True)
class LoginLockoutSettings:
    """Password guessing: after ``attempts`` failed logins within ``window``, the account
    (after ``address_attempts``, the client address) is refused for ``duration``, even with
    the right password, until it ends or ``murmeli user unlock`` lifts it. An address gets
    more tries: an office behind one NAT address shares them."""

    attempts: int = option(10, integer(1, 100_000), "failed logins that lock an account")
    address_attempts: int = option(
        50, integer(1, 1_000_000), "failed logins from one client address that lock it"
    )
    window: float = option(900.0, duration, "period in which the failures are counted")
    duration: float = option(900.0, duration, "how long a lock-out lasts")


@dataclass(frozen=True)
class ServerSettings:
    listen: Listen = option(Listen("127.0.0.1", 5232), listen, "address and port to listen on")
    data: Path = option(Path("var"), path, "folder for collections and Murmeli's database")
    threads: int = option(16, integer(1, 512), "worker threads serving requests")
    max_body_size: int = option(
        10 * 1024 * 1024, byte_size, "largest request body accepted (larger: 413)"
    )
    max_collection_properties: int = option(
        100, integer(10, 10_000), "most properties one calendar or address book may hold"
    )
    max_collection_properties_size: int = option(
        256 * 1024, byte_size, "most bytes the properties of one collection may take"
    )
    base_url: str | None = option(
        None, optional(text), "public URL of the server, used in set-up profiles"
    )
    log_level: str = option("info", choice("debug", "info", "warning", "error"), "log verbosity")
    access_log: bool = option(True, boolean, "log one line per request")
    test_clock_file: Path | None = option(
        None,
        optional(path),
        "TESTS ONLY: the server reads the current time (ISO 8601) from this file",
    )
    tls: TlsSettings = section(TlsSettings)
    login_lockout: LoginLockoutSettings = section(LoginLockoutSettings)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str | None = option(
        None,
        optional(text),
        "SQLAlchemy URL of Murmeli's own state (default: SQLite file in the data folder)",
    )


@dataclass(frozen=True)
class AccountsSettings:
    organisation: str = option("Murmeli", text, "organisation name shown in set-up profiles")
    calendar_name: str = option("Calendar", text, "display name of each user's first calendar")
    addressbook_name: str = option(
        "Contacts", text, "display name of each user's first address book"
    )


@dataclass(frozen=True)
class SmtpSettings:
    """The outgoing mail server, shared by every feature that sends mail."""

    host: str | None = option(None, optional(text), "SMTP server; unset: Murmeli sends no mail")
    port: int = option(587, integer(1, 65535), "SMTP port (587 for starttls, 465 for tls)")
    security: str = option(
        "starttls",
        choice("starttls", "tls", "none"),
        "starttls, tls (implicit TLS) or none (plain text, for a local relay only)",
    )
    username: str | None = option(None, optional(text), "login at the SMTP server, if it asks")
    password_file: Path | None = option(
        None, optional(path), "file holding the SMTP password (keeps the secret out of this file)"
    )
    from_address: str | None = option(
        None, optional(text), "sender address of Murmeli's mail (required with host)"
    )
    timeout: int = option(30, integer(1, 600), "seconds before an SMTP exchange is given up")
    ca_file: Path | None = option(
        None, optional(path), "PEM certificates to trust instead of the system's (private CAs)"
    )

    def __post_init__(self) -> None:
        if self.host and not self.from_address:
            raise ValueError("from_address is required when host is set")
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file must be given together")
