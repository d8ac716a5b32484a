"""A progress bar on stderr for long imports: redrawn in place at a terminal, a line now
and then otherwise (logs, pipes)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
_LINE_EVERY = 5.0  # seconds between lines when stderr is not a terminal


class ProgressBar:
    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self._label = label
        self._stream = stream
        self._tty = stream.isatty()
        self._last_line = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        if self._tty:
            filled = _WIDTH * done // max(total, 1)
            bar = "#" * filled + " " * (_WIDTH - filled)
            self._stream.write(f"\r{self._label} [{bar}] {done}/{total}")
            self._drawn = True
        elif time.monotonic() - self._last_line >= _LINE_EVERY:
            self._stream.write(f"{self._label}: {done}/{total}\n")
            self._last_line = time.monotonic()
        self._stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()
