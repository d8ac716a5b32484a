"""What a request must be before any route or Radicale sees it.

cheroot hands over the request path, query and headers as PEP 3333 asks: the
raw bytes decoded as Latin-1. Radicale and Murmeli's routes expect the text the
client meant, UTF-8, so the path, the query string and the ``Destination`` of
MOVE and COPY are decoded once, here, for every route; a name that is not
UTF-8, or too long to be a file name, is refused rather than stored as mojibake
or failing in storage.

Headers that Radicale would crash on (500) or guess at are checked here too: a
malformed ``Authorization: Basic`` and a ``Depth`` other than 0, 1 or infinity.
A chunked body (no Content-Length) is read here, within the body limit, so
that everything behind sees an ordinary body of known length.
"""

from __future__ import annotations

import base64
import io

from davserver.collections import MAX_NAME_BYTES

_DEPTHS = frozenset({"0", "1", "infinity"})
_CHUNK = 64 * 1024


class Refused(Exception):
    """The request cannot be served as sent; ``status`` is the HTTP status line."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decode_names(environ: dict) -> None:
    """PATH_INFO, QUERY_STRING and the Destination header as the UTF-8 the client sent."""
    for key, what in (
        ("PATH_INFO", "path"),
        ("QUERY_STRING", "query string"),
        ("HTTP_DESTINATION", "Destination header"),
    ):
        value = environ.get(key)
        if not value or value.isascii():
            continue
        try:
            environ[key] = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise Refused("400 Bad Request", f"the {what} is not valid UTF-8") from None
    # Each name is a file name in Radicale's storage: longer ones fail there (500).
    if any(len(name.encode()) > MAX_NAME_BYTES for name in environ.get("PATH_INFO", "").split("/")):
        raise Refused(
            "400 Bad Request", f"a name in the path is longer than {MAX_NAME_BYTES} bytes"
        )


def check_headers(environ: dict) -> None:
    """Refuse a ``Depth`` or Basic ``Authorization`` header no one could make sense of."""
    depth = environ.get("HTTP_DEPTH")
    if depth is not None and depth.strip().lower() not in _DEPTHS:
        raise Refused("400 Bad Request", "the Depth header must be 0, 1 or infinity")
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    # Radicale takes any header starting "Basic" as Basic credentials.
    if authorization[:5].lower() == "basic":
        try:
            decoded = base64.b64decode(authorization[5:].strip(), validate=True).decode()
        except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
            decoded = ""
        if ":" not in decoded:
            raise Refused(
                "400 Bad Request",
                "malformed Authorization header: Basic needs base64 of UTF-8 'login:password'",
            )


def read_body(environ: dict, limit: int) -> None:
    """Refuse a body over ``limit`` bytes (413); a chunked one is read here, within it."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused("400 Bad Request", "invalid Content-Length") from None
    if length > limit:
        raise Refused(
            "413 Payload Too Large",
            f"request body of {length} bytes exceeds the limit of {limit} bytes",
        )
    if length or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return
    chunks, size = [], 0
    stream = environ["wsgi.input"]
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise Refused(
                "413 Payload Too Large",
                f"chunked request body exceeds the limit of {limit} bytes",
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
