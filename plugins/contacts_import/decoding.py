"""Text of an uploaded file whatever the exporting program's encoding.

UTF-8 (with or without BOM) and UTF-16 (BOM, or the zero bytes of ASCII text
without one) are recognised; anything else is read as Windows-1252 (Latin-1
where that has no character), which is what spreadsheet programs and old
phones write, and the caller reports which encoding was assumed. Binary files
are refused.
"""

from __future__ import annotations

import codecs
import re

from plugins.contacts_import.errors import ImportRefused

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding name); refuses what is not text."""
    text, encoding = _decode(raw)
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ImportRefused(
            f"not a text file: control character {bad.group()!r} on line {line} "
            f"(read as {encoding})"
        )
    return text, encoding


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(codecs.BOM_UTF8):
        return _strict(raw[len(codecs.BOM_UTF8) :], "utf-8", "UTF-8 (BOM)")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(raw, "utf-16", "UTF-16")
    sample = raw[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return _strict(raw, "utf-16-le", "UTF-16LE")
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return _strict(raw, "utf-16-be", "UTF-16BE")
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "Latin-1"


def _strict(raw: bytes, codec: str, name: str) -> tuple[str, str]:
    try:
        return raw.decode(codec), name
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"the file says it is {name} but is not valid {name}: {error}"
        ) from None
