"""Fixtures: a real Murmeli server process per test module, throw-away users on it, a
throw-away GnuPG home, Debian's Chromium driven by Playwright, and Murmeli's services in
this process on an empty data folder."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from config import loader
from davserver.services import Services
from tests.murmeli_process import MurmeliServer
from tests.test_crypto_interop import GnuPG

CHROMIUM = "/usr/bin/chromium"


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # Chromium's sandbox cannot start as root (CI containers); it is kept otherwise.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@pytest.fixture
def local_services(tmp_path) -> Services:
    """Murmeli's services in this process, on the embedded defaults and an empty data folder."""
    settings = loader.load(None)
    return Services(
        dataclasses.replace(settings, server=dataclasses.replace(settings.server, data=tmp_path))
    )
