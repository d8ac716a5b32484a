"""The headers that make a browser treat Murmeli's answers safely, added where a page has not
set its own: every HTML answer (Radicale's ``/.web/`` included) loads scripts and styles only
from this server, cannot be framed by another site (clickjacking) and sends no Referer (links
with secrets in their path would leak through it); no answer is content-sniffed into HTML."""

from __future__ import annotations

# Radicale's /.web/ loads its modules, styles and icons from itself and talks only to the
# DAV tree: 'self' serves it, and nothing inline runs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_EVERY_ANSWER = (("X-Content-Type-Options", "nosniff"),)
_HTML_ANSWER = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def secured(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with the missing security headers added; a page's own policy is kept."""
    present = {name.lower(): value for name, value in headers}
    html = present.get("content-type", "").lower().startswith("text/html")
    wanted = _EVERY_ANSWER + _HTML_ANSWER if html else _EVERY_ANSWER
    return headers + [(name, value) for name, value in wanted if name.lower() not in present]
