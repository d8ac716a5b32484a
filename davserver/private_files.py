"""Files only the server's user may read, whatever the umask it was started with.

The data folder holds the database (password hashes, sealed secrets) and key
files; a umask of 000 or 002 must not leave them readable by other users of the
machine. The folder is created 0700 and the database 0600 (SQLite gives its
-wal and -shm files the database's mode). A folder the operator made keeps the
mode they chose.
"""

from __future__ import annotations

import os
from pathlib import Path


def private_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) with the last one 0700; an existing one is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing, and take any other's access away."""
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)
