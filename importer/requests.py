"""What someone asks to import, checked the same way from the CLI and from ``/api/imports``.

The server comes from ``server`` (a preset name or ``HOST[:PORT]``) or from
the address's domain; plain-text IMAP needs explicit consent, since it sends
the source password in clear. Errors are ``PresetError`` naming the field.
"""

from __future__ import annotations

from importer.connection import SECURITIES
from importer.jobs import JobRequest
from importer.presets import PresetError, domain_of, source_server


def job_request(
    source: str,
    destination: str,
    server: str | None = None,
    security: str | None = None,
    allow_plaintext: bool = False,
    prefix: str | None = None,
) -> JobRequest:
    domain_of(source)
    domain_of(destination)
    if security is not None and security not in SECURITIES:
        raise PresetError(f"security must be one of {', '.join(SECURITIES)}, not {security!r}")
    found = source_server(source, server, security)
    if found.security == "none" and not allow_plaintext:
        raise PresetError(
            "security none sends the source password in clear: allow plaintext explicitly "
            "(--allow-plaintext) if the network is trusted"
        )
    if prefix is not None and (not prefix.strip() or prefix != prefix.strip()):
        raise PresetError("prefix: expected a folder name without leading or trailing spaces")
    return JobRequest(found.host, found.port, found.security, source, destination, prefix)
