"""The small HTML page answered to someone following a link from an email (a reminder's stop
link, an invitation's answer link): self-contained, never framed, never leaking the link in a
Referer, posting only back to itself."""

from __future__ import annotations

from html import escape

from davserver.api import Response

_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
}


def link_page(status: int, title: str, body: str) -> Response:
    """``body`` is HTML: escape what comes from users."""
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{escape(title)}</title>"
        "<style>body{font:16px sans-serif;max-width:32em;margin:3em auto;padding:0 1em}</style>"
        f"</head><body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )
    return Response(status, html.encode(), "text/html; charset=utf-8", dict(_HEADERS))
