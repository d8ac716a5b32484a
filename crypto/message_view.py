"""What the secure page shows of a stored RFC 5322 message: headers, body, attachments.

An HTML body goes through nh3 (ammonia), a maintained sanitiser: no scripts,
event handlers, style sheets or forms survive. Images are shown only when the
message carries them (``cid:`` parts, turned into ``data:`` URLs); every other
image source is dropped, so opening a message tells no remote server that it
was read. The page's Content-Security-Policy enforces the same a second time.
"""

from __future__ import annotations

import base64
import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage

import nh3

MAX_INLINE_IMAGE = 5 * 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    headers: list[tuple[str, str]]  # From, To, Cc, Date, Subject as present
    html: str | None  # sanitised
    text: str | None
    attachments: list[Attachment]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def view(raw: bytes) -> MessageView:
    message = parse(raw)
    headers = [
        (name, str(message[name]))
        for name in ("From", "To", "Cc", "Date", "Subject")
        if message[name] is not None
    ]
    body = message.get_body(preferencelist=("html", "plain"))
    html = text = None
    if body is not None and body.get_content_subtype() == "html":
        html = sanitise(_text_of(body), _inline_images(message))
    elif body is not None:
        text = _text_of(body)
    return MessageView(
        headers,
        html,
        text,
        [
            Attachment(_filename(part, index), part.get_content_type(), len(_payload(part)))
            for index, part in enumerate(attachments(message))
        ],
    )


def attachments(message: EmailMessage) -> list[EmailMessage]:
    """Parts to offer for download, in message order: those marked as attachments, and
    named parts that are not the body (inline images included)."""
    body = message.get_body(preferencelist=("html", "plain"))
    alternatives = {id(part) for part in _alternatives_of(message)}
    return [
        part
        for part in message.walk()
        if not part.is_multipart()
        and part is not body
        and id(part) not in alternatives
        and (part.is_attachment() or part.get_filename())
    ]


def attachment(raw: bytes, index: int) -> tuple[str, bytes] | None:
    """The filename and decoded bytes of attachment ``index``, or None."""
    parts = attachments(parse(raw))
    if not 0 <= index < len(parts):
        return None
    return _filename(parts[index], index), _payload(parts[index])


def sanitise(html: str, images: dict[str, str]) -> str:
    """``images`` maps a Content-ID to the ``data:`` URL that replaces ``cid:`` references."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return images.get(value[4:].strip("<>")) if value.lower().startswith("cid:") else None
        return value

    return nh3.clean(
        html,
        attribute_filter=keep,
        url_schemes=nh3.ALLOWED_URL_SCHEMES | {"cid"},
        link_rel="noopener noreferrer nofollow",
    )


def _inline_images(message: EmailMessage) -> dict[str, str]:
    images = {}
    for part in message.walk():
        content_id = part.get("Content-ID")
        if content_id and part.get_content_maintype() == "image":
            data = _payload(part)
            if len(data) <= MAX_INLINE_IMAGE:
                encoded = base64.b64encode(data).decode()
                images[content_id.strip().strip("<>")] = (
                    f"data:{part.get_content_type()};base64,{encoded}"
                )
    return images


def _alternatives_of(message: EmailMessage) -> list[EmailMessage]:
    """The text parts that are other renderings of the body (multipart/alternative)."""
    return [
        part
        for container in message.walk()
        if container.get_content_type() == "multipart/alternative"
        for part in container.iter_parts()
        if part.get_content_maintype() == "text" and not part.get_filename()
    ]


def _text_of(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):
        return _payload(part).decode("utf-8", errors="replace")


def _payload(part: EmailMessage) -> bytes:
    return part.get_payload(decode=True) or b""


def _filename(part: EmailMessage, index: int) -> str:
    return part.get_filename() or f"attachment-{index + 1}"
