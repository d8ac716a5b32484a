"""Process-wide logging: one format for Murmeli and Radicale, Radicale kept quiet by default.

Radicale writes several info lines per request; Murmeli's access log writes
one, so Radicale only speaks at warning level unless debugging. Radicale
logs a client's bad request (an unparsable iCalendar file) as a warning with
the parser's traceback; the warning's one line says what was wrong, so the
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


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    radicale = logging.getLogger("radicale")
    radicale.setLevel("DEBUG" if level == "debug" else "WARNING")
    if level != "debug":
        radicale.addFilter(_without_traceback)
