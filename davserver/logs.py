"""Process-wide logging: one format for Murmeli and Radicale, Radicale kept quiet by default.

Radicale writes several info lines per request; Murmeli's access log writes
one, so Radicale only speaks at warning level unless debugging. Alembic narrates
each schema check; Murmeli logs the upgrades it makes itself. What a library
logs without words is said in words: vobject (under Radicale) logs a TZID it
does not know as a bare ``ERROR root: 'Mars/Olympus'``; it becomes a warning
that names the zone and says what happens to the times.
"""

import logging
import sys


class _UnknownTimeZone(logging.Filter):
    """vobject logs pytz's UnknownTimeZoneError itself (pytz is vobject's, not ours: the class
    is told by name)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if record.name == "root" and type(error).__name__ == "UnknownTimeZoneError":
            record.name, record.levelno, record.levelname = "murmeli.calendar", 30, "WARNING"
            record.msg = "unknown time zone %r (a TZID without VTIMEZONE): its times read as local"
            record.args = (str(error.args[0]) if getattr(error, "args", ()) else "",)
        return True


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_UnknownTimeZone())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("radicale").setLevel("DEBUG" if level == "debug" else "WARNING")
    logging.getLogger("alembic").setLevel("DEBUG" if level == "debug" else "WARNING")
