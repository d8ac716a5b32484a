"""Secrets at rest are the server user's alone, whatever the umask: the data folder 0700, the
database (and its WAL files) and key files 0600, checked in processes started with umask 000."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.murmeli_process import MurmeliServer

SEAL_ONE = (
    "import sys; from pathlib import Path; from importer.credentials import Credentials; "
    "Credentials(Path(sys.argv[1])).seal('job', 'source', 'secret')"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_folder_and_database_are_private_under_umask_000(tmp_path):
    server = MurmeliServer(tmp_path / "data")
    previous = os.umask(0)  # the server process inherits it
    try:
        server.start()
    finally:
        os.umask(previous)
    try:
        server.add_user("ann")  # a write: SQLite's -wal and -shm files exist while it runs
        assert mode(server.data) == 0o700
        files = [server.data / "murmeli.sqlite3", *server.data.glob("murmeli.sqlite3-*")]
        assert {file.name for file in files} == {
            "murmeli.sqlite3",
            "murmeli.sqlite3-wal",
            "murmeli.sqlite3-shm",
        }
        assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        server.stop()


def test_the_importer_key_file_and_its_folder_are_private_under_umask_000(tmp_path):
    key_file = tmp_path / "secrets" / "importer.key"
    sealed = subprocess.run(
        [sys.executable, "-c", SEAL_ONE, str(key_file)], umask=0, capture_output=True, text=True
    )
    assert sealed.returncode == 0, sealed.stderr
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700
