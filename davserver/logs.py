"""Process-wide logging: one format for Murmeli and Radicale, Radicale kept quiet by default.

Radicale writes several info lines per request; Murmeli's access log writes
one, so Radicale only speaks at warning level unless debugging. Alembic narrates
each schema check; Murmeli logs the upgrades it makes itself. What a library
logs without words is said in words: vobject (under Radicale) logs a TZID it
does not know as a bare ``ERROR root: 'Mars/Olympus'``; it becomes a warning
that names the zone and says what happens to the times. Radicale logs a
client's bad request (an unparsable iCalendar file) as a warning with the
parser's traceback; the warning's one line says what was wrong, so the
traceback is kept for debugging only.

Log lines quote what clients send (paths, login names), so every message is
written with its control characters escaped: a newline in a user name cannot
forge a second line. Link secrets are logged shortened (``shortened``).
"""

import logging
import sys

# C0 and C1 controls, DEL, and the separators str.splitlines() breaks lines at.
_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_ESCAPES = {code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" for code in _CONTROLS}
# Long enough to tell log lines apart, far too short to be worth anything.
_LOGGED_SECRET_CHARS = 4


class EscapingFormatter(logging.Formatter):
    """Writes each message on one line; a traceback follows it as Python formats it."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = record.message.translate(_ESCAPES)
        return super().formatMessage(record)


def _without_traceback(record: logging.LogRecord) -> bool:
    if record.levelno == logging.WARNING:
        record.exc_info = record.exc_text = None
    return True


def shortened(secret: str) -> str:
    """A link secret as access logs show it."""
    return f"{secret[:_LOGGED_SECRET_CHARS]}…"


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
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_UnknownTimeZone())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    radicale = logging.getLogger("radicale")
    radicale.setLevel("DEBUG" if level == "debug" else "WARNING")
    if level != "debug":
        radicale.addFilter(_without_traceback)
    logging.getLogger("alembic").setLevel("DEBUG" if level == "debug" else "WARNING")
