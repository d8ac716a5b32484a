"""The WSGI layer that shows recipients of a read-only share its private events as busy time.

It steps in only for reads of ``/<recipient>/<owner>~<collection>/`` (the share
as Radicale maps it) when the recipient's strongest share of it is ``read``:
GET and HEAD of an item (the body through busy_view.py), PROPFIND and REPORT
(every ``calendar-data`` through it). Every ETag seen through such a share is
derived from Radicale's (busy_view.view_etag), so all three agree; conditional
headers name those ETags, which Radicale does not know, so they are left to a
full answer. A REPORT that searches text (``text-match``) is refused (403): its
matches would tell what the private events say. Recipients with write access
see everything: they may edit the events anyway. Radicale has already checked
who asks: a share lives in the recipient's home, which only they may reach.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from urllib.parse import unquote

from davserver.accounts.directory import Directory
from davserver.application import plain_text
from plugins.sharing.busy_view import busy_view, view_etag
from plugins.sharing.shares import SHARE_SEPARATOR, Shares

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]
_READS = frozenset({"GET", "HEAD", "PROPFIND", "REPORT"})
_CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE")
_GETETAG = "{DAV:}getetag"
_CALENDAR_DATA = "{urn:ietf:params:xml:ns:caldav}calendar-data"


class ReadOnlyShareView:
    def __init__(self, dav: WsgiApp, shares: Shares, directory: Directory) -> None:
        self._dav = dav
        self._shares = shares
        self._directory = directory

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        parts = unquote(environ.get("PATH_INFO", "")).strip("/").split("/")
        if method not in _READS or len(parts) < 2 or not self._read_only(parts[0], parts[1]):
            return self._dav(environ, start_response)
        if method == "REPORT" and b"text-match" in _body(environ):
            reason = "text searches are not offered on a read-only share"
            return plain_text(start_response, "403 Forbidden", reason)
        environ.pop("HTTP_ACCEPT_ENCODING", None)  # rewritten: not gzipped
        for condition in _CONDITIONS:
            environ.pop(condition, None)
        captured: dict = {}

        def capture(status: str, headers: list, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self._dav(environ, capture))
        status, headers = captured["status"], captured["headers"]
        if status.startswith("207"):
            body = _multistatus(body)
        elif status.startswith("200") and method in ("GET", "HEAD"):
            body = busy_view(body.decode("utf-8")).encode() if body else body
            headers = [
                (name, view_etag(value) if name.lower() == "etag" else value)
                for name, value in headers
            ]
        else:
            start_response(status, headers)
            return [body]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        if method != "HEAD":
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _read_only(self, recipient: str, mapped: str) -> bool:
        owner, separator, name = mapped.partition(SHARE_SEPARATOR)
        if not separator or not owner or not name:
            return False
        user = self._directory.find(recipient)
        if user is None:
            return False
        received = self._shares.received_by(recipient, user.groups, f"/{owner}/{name}/")
        return any(share.access == "read" for share in received)


def _body(environ: dict) -> bytes:
    """The request body, read once and put back for Radicale."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _multistatus(body: bytes) -> bytes:
    """Every getetag derived and every calendar-data reduced."""
    root = ET.fromstring(body)
    for element in root.iter(_GETETAG):
        if element.text:
            element.text = view_etag(element.text)
    for element in root.iter(_CALENDAR_DATA):
        if element.text:
            element.text = busy_view(element.text)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
