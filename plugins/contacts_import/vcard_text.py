"""vCard content lines (RFC 6350 §3.2 to 3.4, RFC 2426 §4): escaping values and folding lines."""

from __future__ import annotations

FOLD_OCTETS = 75


def escape(value: str) -> str:
    """A TEXT value: backslash, comma, semicolon and newline escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def compound(*components: str) -> str:
    """A structured value (N, ADR, ORG): escaped components joined by semicolons."""
    return ";".join(escape(component) for component in components)


def fold(line: str) -> str:
    """Lines longer than 75 octets folded with CRLF and a space, never inside a character."""
    if len(line.encode()) <= FOLD_OCTETS:
        return line + "\r\n"
    pieces: list[str] = []
    current, size, limit = [], 0, FOLD_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append("".join(current))
            current, size, limit = [], 0, FOLD_OCTETS - 1
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces) + "\r\n"
