"""vCard text as the import writes it: structured values (RFC 6350 §3.3) and whole cards."""

from __future__ import annotations

from collections.abc import Iterable

from plugins.content_lines import CRLF, escape_text, fold


def compound(*components: str) -> str:
    """A structured value (N, ADR, ORG): escaped components joined by semicolons."""
    return ";".join(escape_text(component) for component in components)


def card_text(lines: Iterable[str]) -> str:
    """Content lines folded and each ended with CRLF."""
    return "".join(fold(line) + CRLF for line in lines)
