"""Content lines of iCalendar (RFC 5545 §3.1, §3.3.11) and vCard (RFC 6350 §3.2 to 3.4).

The plugins that handle thousands of items at once (public feeds, contact
import, duplicate detection) work on the text lines directly where a full
parse with icalendar/vobject would cost too much; these are their primitives.
"""

from __future__ import annotations

CRLF = "\r\n"
FOLD_OCTETS = 75


def unfold(text: str) -> list[str]:
    """Logical content lines; only CRLF/LF end a line, never U+2028 & co."""
    lines: list[str] = []
    for physical in text.replace(CRLF, "\n").split("\n"):
        if physical[:1] in (" ", "\t") and lines:
            lines[-1] += physical[1:]
        elif physical:
            lines.append(physical)
    return lines


def fold(line: str) -> str:
    """The line in pieces of at most 75 octets joined by CRLF + space, never cutting a
    UTF-8 character; without a final CRLF."""
    if len(line) <= FOLD_OCTETS and line.isascii():
        return line
    pieces, current, size, limit = [], [], 0, FOLD_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, FOLD_OCTETS - 1
        current.append(char)
        size += width
    pieces.append("".join(current))
    return (CRLF + " ").join(pieces)


def split_parameters(line: str) -> tuple[str, str, str]:
    """Upper-cased name (with any ``group.`` prefix), parameters (with their leading ``;``)
    and value: the value starts at the first colon outside a quoted parameter value."""
    colon = line.find(":")
    if colon == -1:
        colon = len(line)
    elif '"' in line[:colon]:
        quoted = False
        for index, char in enumerate(line):
            if char == '"':
                quoted = not quoted
            elif char == ":" and not quoted:
                colon = index
                break
    head = line[:colon]
    semicolon = head.find(";")
    if semicolon == -1:
        return head.upper(), "", line[colon + 1 :]
    return head[:semicolon].upper(), head[semicolon:], line[colon + 1 :]


def split_line(line: str) -> tuple[str, str]:
    """Upper-cased property name and the value."""
    name, _, value = split_parameters(line)
    return name, value


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace(CRLF, "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )
