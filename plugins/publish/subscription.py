"""The anonymous feed at ``/.token/v1/<token>/``, answered as polling subscribers need.

GET and HEAD only: the link is read-only and shows nothing but the rendered
feed (never the raw items, which would bypass busy-only and private events).
Validators: a weak ETag (a digest of the content) and Last-Modified; a matching
``If-None-Match`` (or, without one, a not-older ``If-Modified-Since``) answers
304 with no body. ``Accept-Encoding: gzip`` gets the pre-compressed body.
An unknown, turned-off or rotated token answers 404, checked on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from davserver.application import plain_text
from plugins.publish.links import TOKEN_PREFIX, PublishedCalendars
from plugins.publish.snapshot import Feed, Feeds

CONTENT_TYPE = "text/calendar; charset=utf-8"
_READ_METHODS = ("GET", "HEAD")
# Long enough to tell log lines apart, far too short to be worth anything.
_LOGGED_TOKEN_CHARS = 4


class FeedApplication:
    def __init__(self, links: PublishedCalendars, feeds: Feeds) -> None:
        self._links = links
        self._feeds = feeds

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        token = path.removeprefix(TOKEN_PREFIX).removesuffix("/")
        # The access log reads PATH_INFO after this returns: keep the secret out of it.
        environ["PATH_INFO"] = f"{TOKEN_PREFIX}{token[: 3 + _LOGGED_TOKEN_CHARS]}…/"
        link = self._links.find(token) if path.endswith("/") else None
        calendar = self._feeds.get(link.collection, link.busy_only, link.token) if link else None
        if calendar is None:
            return plain_text(start_response, "404 Not Found", "no such calendar link")
        method = environ.get("REQUEST_METHOD", "")
        if method not in _READ_METHODS:
            return plain_text(
                start_response,
                "405 Method Not Allowed",
                "a public calendar link is read-only",
                [("Allow", ", ".join(_READ_METHODS))],
            )
        headers = [
            ("Content-Type", CONTENT_TYPE),
            ("ETag", calendar.etag),
            ("Last-Modified", calendar.last_modified),
            ("Cache-Control", "no-cache"),
            ("Vary", "Accept-Encoding"),
        ]
        if not_modified(environ, calendar):
            start_response("304 Not Modified", headers)
            return []
        body = calendar.body
        if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = calendar.gzipped
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        name = quote(f"{link.collection.strip('/').replace('/', '-')}.ics")
        headers.append(("Content-Disposition", f"inline; filename*=UTF-8''{name}"))
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [body]


def not_modified(environ: dict, calendar: Feed) -> bool:
    """RFC 9110 13.2.2: If-None-Match (weak comparison) decides; else If-Modified-Since."""
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        ours = calendar.etag.removeprefix("W/")
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or ours in tags
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return calendar.modified <= since


def accepts_gzip(accept_encoding: str) -> bool:
    """True when the client lists gzip with a non-zero quality."""
    for entry in accept_encoding.split(","):
        coding, *parameters = entry.split(";")
        if coding.strip().lower() not in ("gzip", "x-gzip"):
            continue
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.strip().partition("=")
            if key.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        return quality > 0
    return False
