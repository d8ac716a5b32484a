"""Whether a relayed copy is the message that was sent: what ``bench/relay.py`` checks on a
sample of each contender's copies before any of its times count.

An encrypted copy must be PGP/MIME (RFC 3156) that ``gpg`` opens with each
recipient's private key alone (one GNUPGHOME per recipient, so a copy encrypted to
one key but not the other fails), and what it opens to must be the MIME entity that
was sent, byte for byte. A pass-through copy must carry that entity unchanged.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

from bench.report import verify

Entity = Callable[[bytes], bytes]


class Keyrings:
    """One GNUPGHOME per recipient, holding only that recipient's private key."""

    def __init__(self, work: Path, private_keys: dict[str, str], passphrase: str) -> None:
        self.passphrase = passphrase
        self.homes: dict[str, Path] = {}
        for number, (address, armored) in enumerate(sorted(private_keys.items())):
            home = work / f"gnupg-{number}"
            home.mkdir(mode=0o700)
            subprocess.run(
                [*self._gpg(home), "--import"], input=armored.encode(), check=True,
                capture_output=True,
            )  # fmt: skip
            self.homes[address] = home

    def _gpg(self, home: Path) -> list[str]:
        return ["gpg", "--homedir", str(home), "--batch", "--quiet", "--pinentry-mode",
                "loopback", "--passphrase", self.passphrase]  # fmt: skip

    def decrypt(self, address: str, armored: bytes) -> bytes | None:
        """The plaintext, or None if ``address``'s key cannot open it."""
        done = subprocess.run(
            [*self._gpg(self.homes[address]), "--decrypt"], input=armored, capture_output=True
        )
        return done.stdout if done.returncode == 0 else None

    def close(self) -> None:
        for home in self.homes.values():
            subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                           check=False, capture_output=True)  # fmt: skip


def check_copy(
    contender: str, copy: bytes, sent: bytes, entity: Entity, keyrings: Keyrings,
    recipients: tuple[str, ...],
) -> None:  # fmt: skip
    """Raises ``Mismatch`` unless ``copy`` carries ``sent``'s entity (encrypted to every one
    of ``recipients``, or, if there are none, in the clear)."""
    if not recipients:
        verify("pass-through copy", contender, entity(copy), entity(sent))
        return
    message = message_from_bytes(copy)
    verify("copy's Content-Type", contender, message.get_content_type(), "multipart/encrypted")
    parts = message.get_payload()
    armored = (
        parts[1].get_payload(decode=True) if isinstance(parts, list) and len(parts) == 2 else b""
    )
    for address in recipients:
        opened = keyrings.decrypt(address, armored)
        verify(f"copy opened by {address}'s key", contender, opened, entity(sent))
