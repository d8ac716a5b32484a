"""The limits of the hosted suite Murmeli replaces: 50 MB and 10,000 contacts per file.

Checked before anything is built or written, so an oversized file is refused
up front with the reason.
"""

from __future__ import annotations

from plugins.contacts_import.errors import ImportRefused

MAX_BYTES = 50 * 1024 * 1024
MAX_LINES = 10_000


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise ImportRefused(
            f"file too large: {size} bytes, at most {MAX_BYTES} bytes (50 MB) per import"
        )


def check_lines(count: int, what: str) -> None:
    """``what`` names the lines counted: "CSV rows" or "vCards"."""
    if count > MAX_LINES:
        raise ImportRefused(f"too many {what}: {count}, at most {MAX_LINES} per file")
