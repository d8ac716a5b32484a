"""Process-wide logging: one format for Murmeli and Radicale, Radicale kept quiet by default.

Radicale writes several info lines per request; Murmeli's access log writes
one, so Radicale only speaks at warning level unless debugging. Alembic narrates
each schema check; Murmeli logs the upgrades it makes itself.
"""

import logging
import sys


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("radicale").setLevel("DEBUG" if level == "debug" else "WARNING")
    logging.getLogger("alembic").setLevel("DEBUG" if level == "debug" else "WARNING")
