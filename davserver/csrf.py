"""Cross-site request forgery: which unsafe requests to ``/api/`` a browser may not have been
tricked into sending.

A browser that holds a user's Basic credentials sends them with any request
another site makes it send, but without a CORS preflight only a *simple* one:
a POST whose body is ``text/plain``, ``multipart/form-data`` or
``application/x-www-form-urlencoded`` (or has no Content-Type at all). So a
route that changes state refuses those, and accepts only the media types it
reads (JSON unless it says otherwise), which a cross-site page cannot send
without the preflight Murmeli never grants. An empty body needs no type (an
action such as ``/cancel`` reads nothing): browsers say where every
cross-site POST comes from, and anything but this server is refused:
``Sec-Fetch-Site`` when it is sent (browsers set it, pages cannot), else
``Origin``. Public routes (links sent by mail, whose secret is in the path)
post forms to themselves: they keep the origin check only, and accept the
``Origin: null`` that a page under ``Referrer-Policy: no-referrer`` sends
with its own forms (there is no ambient credential to abuse there).
"""

from __future__ import annotations

from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON = frozenset({"application/json"})
# What a page on another site can make a browser send without a preflight.
_SIMPLE_TYPES = frozenset(
    {"text/plain", "multipart/form-data", "application/x-www-form-urlencoded"}
)
_ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def media_type(environ: dict) -> str:
    """The request body's media type, lower case, without parameters ("" when absent)."""
    return environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()


def refusal(
    environ: dict, accepts: frozenset[str] | None, base_url: str | None
) -> tuple[int, str] | None:
    """The status and reason to refuse this request as possibly cross-site, or None to serve it.

    ``accepts`` holds the media types the route reads; None for public form
    routes, which get only the origin check.
    """
    method = environ.get("REQUEST_METHOD", "")
    if method in SAFE_METHODS:
        return None
    foreign = _foreign_origin(environ, base_url, public=accepts is None)
    if foreign:
        return 403, f"cross-site request refused ({foreign})"
    if accepts is None:
        return None
    kind = media_type(environ)
    if kind in _SIMPLE_TYPES or ((kind or _has_body(environ)) and kind not in accepts):
        wanted = " or ".join(sorted(accepts))
        return 415, f"{method} here needs Content-Type: {wanted} (got {kind or 'none'})"
    return None


def _has_body(environ: dict) -> bool:
    return environ.get("CONTENT_LENGTH", "") not in ("", "0")


def _foreign_origin(environ: dict, base_url: str | None, public: bool) -> str | None:
    """The header that says the request comes from another site, or None."""
    site = environ.get("HTTP_SEC_FETCH_SITE", "").lower()
    if site:
        return None if site in _ALLOWED_FETCH_SITES else f"Sec-Fetch-Site: {site[:50]}"
    origin = environ.get("HTTP_ORIGIN")
    if origin is None or origin.lower() in _own_origins(environ, base_url):
        return None
    if public and origin == "null":
        return None
    return f"Origin: {origin[:200]}"


def _own_origins(environ: dict, base_url: str | None) -> set[str]:
    """This server's origins: the configured public URL's, and the one the client addressed."""
    origins = set()
    if base_url:
        parts = urlsplit(base_url)
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    host = environ.get("HTTP_HOST")
    if host:
        origins.add(f"{environ.get('wsgi.url_scheme', 'http')}://{host}".lower())
    return origins
