"""The HTML of the secure page: the password form, the message, and the pages that say no.

Self-contained (no scripts, fonts or remote anything) and served with a strict
Content-Security-Policy: only this page's own style sheet (by hash) and
``data:`` images run or load, nothing may frame it, and it sends no Referer,
so the link's secret never leaves in a header.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape
from urllib.parse import quote

from crypto.message_view import MessageView
from davserver.api import Response

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:48em;margin:2em auto;padding:0 1em;"
    "color:#1d1d1f}h1{font-size:1.4em}dl{display:grid;grid-template-columns:max-content auto;"
    "gap:.2em 1em}dt{font-weight:600}dd{margin:0}.body{border-top:1px solid #ccc;"
    "padding-top:1em;overflow-wrap:anywhere}pre{white-space:pre-wrap}.error{color:#b00020}"
    ".note{color:#555;font-size:.9em}input,button{font:inherit;padding:.3em .6em}"
    "img{max-width:100%}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}  # and Cache-Control: no-store, which the API sets on every answer


def _when(instant: datetime) -> str:
    return instant.strftime("%-d %B %Y, %H:%M UTC")


def page(status: int, title: str, body: str) -> Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )
    return Response(status, html.encode(), "text/html; charset=utf-8", dict(HEADERS))


def form(sender: str, expires: datetime, error: str | None = None, status: int = 200) -> Response:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return page(
        status,
        "Secure message",
        f"<p>{escape(sender)} sent you a secure message. Type the password they gave you "
        "to read it.</p>"
        f"{problem}"
        '<form method="post"><label>Password <input type="password" name="password" '
        'autocomplete="off" required autofocus></label> <button type="submit">Open</button>'
        "</form>"
        f'<p class="note">It can be read until {escape(_when(expires))}.</p>',
    )


def message(shown: MessageView, token: str, expires: datetime) -> Response:
    headers = "".join(
        f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in shown.headers
    )
    if shown.html is not None:
        body = f'<div class="body">{shown.html}</div>'
    else:
        body = f'<div class="body"><pre>{escape(shown.text or "")}</pre></div>'
    files = "".join(
        f'<li><a href="{escape(quote(token))}/attachments/{index}" download>'
        f"{escape(part.filename)}</a> ({escape(part.content_type)}, {part.size:,} bytes)</li>"
        for index, part in enumerate(shown.attachments)
    )
    listing = f'<h2>Attachments</h2><ul class="attachments">{files}</ul>' if files else ""
    return page(
        200,
        "Secure message",
        f"<dl>{headers}</dl>{body}{listing}"
        f'<p class="note">This message can be read until {escape(_when(expires))}; '
        "then it is deleted. Save what you need to keep.</p>",
    )


def unknown() -> Response:
    return page(
        404,
        "No such message",
        "<p>No secure message was sent with this link. Check that the whole link was copied "
        "from the email.</p>",
    )


def gone(reason: str, days: int) -> Response:
    if reason == "revoked":
        return page(410, "Message withdrawn", "<p>The sender withdrew this secure message.</p>")
    return page(
        410,
        "Link expired",
        f"<p>This secure message has expired: messages can be read for {days} days, "
        "then they are deleted. Ask the sender to send it again.</p>",
    )


def locked() -> Response:
    return page(
        403,
        "Message locked",
        "<p>The password was typed wrongly too many times, so this message is locked. "
        "Its sender has been told and can see it; ask them to unlock it or send it again.</p>",
    )


def session_ended(token: str) -> Response:
    return page(
        403,
        "Please open the message again",
        "<p>Your reading session has ended. "
        f'<a href="../../{escape(quote(token))}">Open the message</a> '
        "and type the password again.</p>",
    )


def bad_request(reason: str) -> Response:
    return page(400, "Bad request", f"<p>{escape(reason)}</p>")
