"""A throw-away certificate authority for tests: servers present certificates it signed, and
clients trust only it, so every TLS test verifies a chain the way production does."""

from __future__ import annotations

import subprocess
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


class TestAuthority:
    """``certificate`` is the CA file clients are given; ``issue`` makes a server's pair."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.certificate = folder / "ca.pem"
        self._key = folder / "ca-key.pem"
        _openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-days", "2", "-subj", "/CN=Murmeli test CA", "-keyout", str(self._key),
            "-out", str(self.certificate),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip

    def issue(self, name: str, *alt_names: str) -> tuple[Path, Path]:
        """(certificate, key) for ``name``, e.g. ``issue("imap", "IP:127.0.0.1")``."""
        key, request = self.folder / f"{name}-key.pem", self.folder / f"{name}.csr"
        certificate = self.folder / f"{name}.pem"
        _openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(request),
        )  # fmt: skip
        extensions = self.folder / f"{name}.ext"
        extensions.write_text(
            "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            f"subjectAltName={','.join(alt_names)}\n"
        )
        _openssl(
            "x509", "-req", "-in", str(request), "-CA", str(self.certificate),
            "-CAkey", str(self._key), "-CAcreateserial", "-days", "2",
            "-extfile", str(extensions), "-out", str(certificate),
        )  # fmt: skip
        return certificate, key
