"""Source passwords sealed at rest with AES-256-GCM under a key file made on first use."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from importer.credentials import CredentialError, Credentials


def test_a_sealed_password_opens_only_for_its_job_and_purpose(tmp_path: Path) -> None:
    credentials = Credentials(tmp_path / "keys" / "importer.key")
    sealed = credentials.seal("job-1", "source", "hunter2-pässword")
    assert b"hunter2" not in sealed and len(sealed) == 12 + len("hunter2-pässword".encode()) + 16
    assert credentials.seal("job-1", "source", "hunter2-pässword") != sealed  # fresh nonce
    assert Credentials(tmp_path / "keys" / "importer.key").open("job-1", "source", sealed) == (
        "hunter2-pässword"
    )
    with pytest.raises(CredentialError):
        credentials.open("job-2", "source", sealed)
    with pytest.raises(CredentialError):
        credentials.open("job-1", "destination", sealed)


def test_the_key_file_is_private_and_another_key_does_not_open(tmp_path: Path) -> None:
    key_file = tmp_path / "importer.key"
    sealed = Credentials(key_file).seal("job", "source", "pw")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["importer.key"]
    with pytest.raises(CredentialError, match="does not open"):
        Credentials(tmp_path / "other.key").open("job", "source", sealed)


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    key_file = tmp_path / "importer.key"
    key_file.write_text("not base64!\n")
    with pytest.raises(CredentialError, match="cannot read the key file"):
        Credentials(key_file).seal("job", "source", "pw")
