"""Fixtures: a real Murmeli server process per test module, throw-away users on it, and a
throw-away GnuPG home."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.murmeli_process import MurmeliServer
from tests.test_crypto_interop import GnuPG


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MurmeliServer]:
    running = MurmeliServer(tmp_path_factory.mktemp("murmeli-data")).start()
    yield running
    running.stop()


@pytest.fixture
def fresh_data(tmp_path) -> MurmeliServer:
    """A data folder with no server running, for CLI-only tests."""
    return MurmeliServer(tmp_path / "data")


@pytest.fixture
def gnupg() -> Iterator[GnuPG]:
    """Real GnuPG in its own home, for interop: what it reads and writes is the reference."""
    if shutil.which("gpg") is None:
        pytest.fail("gpg is not installed (scripts/install-test-services installs gnupg)")
    home = Path(tempfile.mkdtemp(prefix="gpg"))  # short: gpg-agent's socket path has a limit
    yield GnuPG(home)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    shutil.rmtree(home, ignore_errors=True)
