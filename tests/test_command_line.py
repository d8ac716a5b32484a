"""The `murmeli` command as a shell sees it: pipes closed early, a daemon saying what it does."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

from tests.murmeli_process import MURMELI


def test_a_reader_that_went_away_ends_the_command_quietly(fresh_data):
    """As ``murmeli check-config --example | head -1``, with the reader gone before any write."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [*MURMELI, "check-config", "--example"],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            env=fresh_data.environment(),
            timeout=60,
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 1


def test_importer_says_what_it_does_and_how_to_stop_it(fresh_data):
    daemon = subprocess.Popen(
        [*MURMELI, "importer"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=fresh_data.environment(),
    )
    deadline = threading.Timer(60, daemon.kill)  # a silent daemon would block the read
    deadline.start()
    try:
        assert daemon.stderr is not None
        said = next(line for line in daemon.stderr if line.startswith("murmeli importer:"))
        assert "copying to 127.0.0.1:993 (tls; built-in defaults, no --config)" in said
        assert "runs until Ctrl-C or SIGTERM" in said
    finally:
        deadline.cancel()
        daemon.send_signal(signal.SIGTERM)
        _, rest = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, rest
