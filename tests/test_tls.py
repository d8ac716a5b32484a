"""With a certificate configured, the server speaks HTTPS, and clients that verify it connect."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests.murmeli_process import MurmeliServer


def self_signed(folder) -> tuple[str, str]:
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )
    return str(certificate), str(key)


def test_https_with_a_configured_certificate(tmp_path):
    certificate, key = self_signed(tmp_path)
    config = tmp_path / "murmeli.yaml"
    config.write_text(f"server:\n  tls:\n    certificate: {certificate}\n    key: {key}\n")
    server = MurmeliServer(tmp_path / "data", config=config).start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        name, password = server.add_user("tls")
        me = requests.get(f"{server.url}/api/me", auth=(name, password), verify=certificate)
        assert me.json()["name"] == name
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{server.url}/api/me", timeout=10)
    finally:
        assert server.stop() == 0
