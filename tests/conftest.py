"""Fixtures: a real Murmeli server process per test module, and throw-away users on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.murmeli_process import MurmeliServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MurmeliServer]:
    running = MurmeliServer(tmp_path_factory.mktemp("murmeli-data")).start()
    yield running
    running.stop()


@pytest.fixture
def fresh_data(tmp_path) -> MurmeliServer:
    """A data folder with no server running, for CLI-only tests."""
    return MurmeliServer(tmp_path / "data")
