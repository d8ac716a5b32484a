"""The ``relay`` section: the OpenPGP relay's key-encryption key (KEK), listeners and next hop.

The KEK wraps every private key in the database. It is 32 random bytes,
base64-encoded (``python -c "import base64, secrets;
print(base64.b64encode(secrets.token_bytes(32)).decode())"``), kept out of the
configuration file: in a file readable only by Murmeli, or in an environment
variable. The file wins when both are set.

The relay has two listeners, each disabled by setting its ``listen`` to null:
``submission`` for users' mail programs and webmail (STARTTLS, then AUTH with a
Murmeli account or app password) and ``content_filter`` for the mail server
(no AUTH: only the ``trusted`` networks may connect). Everything accepted goes
on to ``next_hop``; the relay keeps no queue, so it accepts a message only once
the next hop has accepted every copy of it.

Encryption holds the GIL, so one process encrypts on one core: ``murmeli relay``
runs ``workers`` processes (``crypto/relay_workers.py``) and the kernel spreads
connections across them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _items(value: Any) -> list[str]:
    """A YAML list of strings, or one comma-separated string (how the example file shows it)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value]
    raise ValueError(f"expected a list of strings, got {value!r}")


@dataclass(frozen=True)
class Networks:
    """IP networks; ``str`` gives the comma-separated form the parser reads back."""

    networks: tuple[IPNetwork, ...]

    def __contains__(self, address: object) -> bool:
        try:
            ip = ipaddress.ip_address(str(address))
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def __str__(self) -> str:
        return ", ".join(str(network) for network in self.networks)


def networks(value: Any) -> Networks:
    """Accept ``[127.0.0.1, 10.0.0.0/8]`` or ``"127.0.0.1, ::1"``."""
    try:
        return Networks(tuple(ipaddress.ip_network(item) for item in _items(value)))
    except ValueError as error:
        raise ValueError(f"expected IP addresses or networks (e.g. 10.0.0.0/8): {error}") from None


@dataclass(frozen=True)
class Domains:
    """Mail domains, lower-cased; ``str`` gives the comma-separated form the parser reads back."""

    names: tuple[str, ...]

    def __contains__(self, domain: object) -> bool:
        return str(domain).lower() in self.names

    def __str__(self) -> str:
        return ", ".join(self.names)


def domains(value: Any) -> Domains:
    return Domains(tuple(item.lower() for item in _items(value)))


@dataclass(frozen=True)
class SubmissionSettings:
    listen: Listen | None = option(
        Listen("127.0.0.1", 10587),
        optional(listen),
        "address of the submission listener (mail programs, webmail); null: none",
    )
    certificate: Path | None = option(
        None, optional(path), "PEM certificate chain offered by STARTTLS (required to listen)"
    )
    key: Path | None = option(None, optional(path), "PEM private key of the certificate")

    def __post_init__(self) -> None:
        if (self.certificate is None) != (self.key is None):
            raise ValueError("certificate and key must be given together")


@dataclass(frozen=True)
class ContentFilterSettings:
    listen: Listen | None = option(
        Listen("127.0.0.1", 10025),
        optional(listen),
        "address of the content-filter listener (the mail server's content_filter); null: none",
    )
    trusted: Networks = option(
        networks(["127.0.0.0/8", "::1"]),
        networks,
        "IP addresses or networks allowed to connect; everyone else is refused (554)",
    )


@dataclass(frozen=True)
class NextHopSettings:
    host: str | None = option(
        None, optional(text), "SMTP server every relayed message goes to (required to run)"
    )
    port: int = option(25, integer(1, 65535), "its port (e.g. 10026 for Postfix re-injection)")
    security: str = option(
        "starttls",
        choice("starttls", "tls", "none"),
        "starttls, tls (implicit TLS) or none (plain text, for a loopback next hop only)",
    )
    username: str | None = option(None, optional(text), "login at the next hop, if it asks")
    password_file: Path | None = option(
        None, optional(path), "file holding the next hop's password"
    )
    ca_file: Path | None = option(
        None, optional(path), "PEM certificates to trust instead of the system's (private CAs)"
    )
    timeout: int = option(60, integer(1, 600), "seconds before an exchange with it is given up")

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username and password_file must be given together")


@dataclass(frozen=True)
class RelaySettings:
    kek_file: Path | None = option(
        None, optional(path), "file holding the key-encryption key (32 random bytes, base64)"
    )
    kek_environment: str = option(
        "MURMELI_KEK",
        text,
        "environment variable holding the key-encryption key when kek_file is not set",
    )
    enabled: bool = option(False, boolean, "run the relay inside `murmeli serve`")
    workers: int | None = option(
        None,
        optional(integer(1, 64)),
        "processes of `murmeli relay`, each listening on every port (SO_REUSEPORT); "
        "null: one per CPU, at most 8; `murmeli serve` always runs the relay in one process",
    )
    local_domains: Domains = option(
        domains(""),
        domains,
        "domains whose every address is local (encrypted at rest) even without a Murmeli "
        "account; Murmeli users' addresses are always local",
    )
    max_message_size: int = option(
        25 * 1024 * 1024, byte_size, "largest message accepted (announced as SIZE; larger: 552)"
    )
    wkd_lookup: bool = option(
        False,
        boolean,
        "look up outside recipients' keys in their domain's Web Key Directory (HTTPS)",
    )
    wkd_timeout: float = option(5.0, duration, "time a Web Key Directory lookup may take")
    wkd_cache: float = option(
        3600.0, duration, "how long a Web Key Directory answer (found or not) is reused"
    )
    wkd_ca_file: Path | None = option(
        None, optional(path), "PEM certificates to trust for WKD lookups instead of the system's"
    )
    wkd_connect_to: Listen | None = option(
        None,
        optional(listen),
        "HOST:PORT to send every WKD lookup to (tests, split DNS); "
        "the certificate is still verified for the recipient's domain",
    )
    secure_message_days: int = option(
        30, integer(1, 365), "days a password-protected message can be read, then it is deleted"
    )
    secure_message_attempts: int = option(
        5, integer(1, 100), "wrong passwords before a password-protected message is locked"
    )
    secure_message_url: str | None = option(
        None,
        optional(text),
        "base URL of the links to password-protected messages (default: server.base_url)",
    )
    secure_message_sweep: float = option(
        3600.0, duration, "how often expired password-protected messages are deleted"
    )
    submission: SubmissionSettings = section(SubmissionSettings)
    content_filter: ContentFilterSettings = section(ContentFilterSettings)
    next_hop: NextHopSettings = section(NextHopSettings)
