"""The IMAP servers of common providers, so a user types only an address and a password.

A preset is found from the address's domain, or named with ``--server``
(``--server google`` for a Google Workspace domain, ``--server microsoft`` for
a Microsoft 365 one, whose domains cannot be told from the address).
``HOST[:PORT]`` names any other server; the port defaults from the security.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GOOGLE, MICROSOFT = "google", "microsoft"
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}


@dataclass(frozen=True)
class SourceServer:
    host: str
    port: int
    security: str
    provider: str | None = None

    @property
    def needs_oauth(self) -> bool:
        """Google and Microsoft accept only OAuth or app passwords for IMAP by default."""
        return self.provider in (GOOGLE, MICROSOFT)


PRESETS = {
    GOOGLE: SourceServer("imap.gmail.com", 993, "tls", GOOGLE),
    MICROSOFT: SourceServer("outlook.office365.com", 993, "tls", MICROSOFT),
    "yahoo": SourceServer("imap.mail.yahoo.com", 993, "tls", "yahoo"),
    "gmx": SourceServer("imap.gmx.net", 993, "tls", "gmx"),
    "gmx.com": SourceServer("imap.gmx.com", 993, "tls", "gmx"),
    "icloud": SourceServer("imap.mail.me.com", 993, "tls", "icloud"),
    "bluewin": SourceServer("imaps.bluewin.ch", 993, "tls", "bluewin"),
}

_DOMAINS = {
    GOOGLE: ("gmail.com", "googlemail.com"),
    MICROSOFT: ("outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com"),
    "yahoo": ("yahoo.com", "ymail.com", "rocketmail.com", "aol.com"),
    "gmx": ("gmx.de", "gmx.net", "gmx.at", "gmx.ch"),
    "gmx.com": ("gmx.com", "gmx.us", "gmx.co.uk", "gmx.fr"),
    "icloud": ("icloud.com", "me.com", "mac.com"),
    "bluewin": ("bluewin.ch", "bluemail.ch", "swissonline.ch"),
}
_BY_DOMAIN = {domain: name for name, domains in _DOMAINS.items() for domain in domains}
# Country variants: outlook.de, hotmail.co.uk, live.fr, yahoo.co.jp, yahoo.de...
_COUNTRY_VARIANTS = re.compile(
    r"^(outlook|hotmail|live|yahoo)\.([a-z]{2,3}|co\.[a-z]{2}|com\.[a-z]{2})$"
)
_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>\d{1,5}))?$")


class PresetError(ValueError):
    """The server cannot be told from the address or ``--server``; the text says what to give."""


def domain_of(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise PresetError(f"{address!r} is not an email address")
    return domain.lower()


def preset_for(address: str) -> SourceServer | None:
    domain = domain_of(address)
    name = _BY_DOMAIN.get(domain)
    if name is None:
        variant = _COUNTRY_VARIANTS.match(domain)
        name = variant and (MICROSOFT if variant[1] != "yahoo" else "yahoo")
    return PRESETS[name] if name else None


def source_server(address: str, server: str | None, security: str | None) -> SourceServer:
    """The server for ``address``: ``server`` (a preset name or HOST[:PORT]) if given, else the
    preset of its domain; ``security`` overrides the preset's."""
    if server is None:
        found = preset_for(address)
        if found is None:
            raise PresetError(
                f"no preset for {domain_of(address)}: "
                "give its IMAP server with --server HOST[:PORT]"
            )
    elif server.lower() in PRESETS:
        found = PRESETS[server.lower()]
    else:
        found = _parse_host_port(server, security or "tls")
    if security is not None and security != found.security:
        port = found.port if server and ":" in server else DEFAULT_PORTS[security]
        found = SourceServer(found.host, port, security, found.provider)
    return found


def _parse_host_port(server: str, security: str) -> SourceServer:
    match = _HOST_PORT.match(server.strip())
    if not match or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise PresetError(f"--server: expected HOST[:PORT] or a preset name, got {server!r}")
    port = int(match["port"]) if match["port"] else DEFAULT_PORTS[security]
    host = match["host"].strip("[]")
    provider = next((p.provider for p in PRESETS.values() if p.host == host.lower()), None)
    return SourceServer(host, port, security, provider)
