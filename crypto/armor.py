"""OpenPGP ASCII armor (RFC 4880 section 6), made fast enough for a mail relay.

PGPy computes the armor's CRC-24 one bit at a time in Python, which is most of
its cost per message. Here the CRC is reduced as one big polynomial over
GF(2): Python's big integers shift and XOR at C speed, so folding the message
onto itself costs a few dozen whole-number operations instead of a Python step
per byte. Base64 is ``base64.encodebytes`` (76-column lines, as GnuPG writes).
"""

from __future__ import annotations

import base64
import binascii

_CRC24_INIT = 0xB704CE
_CRC24_POLY = 0x1864CFB  # RFC 4880 section 6.1, with its x^24 term
_DIRECT_BITS = 64  # below this, reduce bit by bit


class ArmorError(ValueError):
    """The text is not an OpenPGP armored block of the expected kind, or its checksum is wrong."""


def _reduce_small(value: int) -> int:
    """``value`` mod the CRC-24 polynomial, for values of a few dozen bits."""
    for bit in range(value.bit_length() - 1, 23, -1):
        if value >> bit & 1:
            value ^= _CRC24_POLY << (bit - 24)
    return value


def _carryless_multiply(value: int, small: int) -> int:
    """``value * small`` over GF(2), ``small`` having at most 24 bits."""
    product = 0
    while small:
        low = small & -small
        product ^= value << (low.bit_length() - 1)
        small ^= low
    return product


def _powers_of_x() -> list[int]:
    """``x^(2^i) mod P`` for every i a message could need (up to 2^40 bits)."""
    powers = [_reduce_small(2)]
    for _ in range(40):
        powers.append(_reduce_small(_carryless_multiply(powers[-1], powers[-1])))
    return powers


_X_POWER_OF_TWO = _powers_of_x()


def crc24(data: bytes) -> int:
    """The OpenPGP armor checksum of ``data`` (RFC 4880 section 6.1)."""
    bits = 8 * len(data)
    remainder = (_CRC24_INIT << bits) ^ (int.from_bytes(data, "big") << 24)
    while remainder.bit_length() > _DIRECT_BITS:
        # remainder = high * x^k + low, and x^k mod P is a 24-bit polynomial:
        # replacing x^k by it keeps the remainder mod P and shrinks the number.
        exponent = (remainder.bit_length() - 1).bit_length() - 1
        split = 1 << exponent
        high, low = remainder >> split, remainder & ((1 << split) - 1)
        remainder = _carryless_multiply(high, _X_POWER_OF_TWO[exponent]) ^ low
    return _reduce_small(remainder)


def armor(kind: str, data: bytes) -> str:
    """``data`` as an armored block, e.g. kind ``MESSAGE`` or ``PUBLIC KEY BLOCK``."""
    return (
        f"-----BEGIN PGP {kind}-----\n\n"
        f"{base64.encodebytes(data).decode('ascii')}"
        f"={_checksum(data)}\n"
        f"-----END PGP {kind}-----\n"
    )


def unarmor(text: str | bytes, kind: str) -> bytes:
    """The binary data of the first armored block of ``kind`` in ``text``, checksum verified."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    begin, end = f"-----BEGIN PGP {kind}-----", f"-----END PGP {kind}-----"
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise ArmorError(f"no armored PGP {kind} block found")
    lines = text[start + len(begin) : stop].splitlines()
    # Armor headers (Version:, Comment:, ...) end at the first empty line.
    body = lines[next((i for i, line in enumerate(lines[1:], 1) if not line.strip()), 0) + 1 :]
    checksum = body.pop().strip() if body and body[-1].startswith("=") else None
    try:
        data = base64.b64decode("".join(body), validate=True)
    except binascii.Error:
        raise ArmorError(f"the armored PGP {kind} is not valid base64") from None
    if checksum is not None and _checksum(data) != checksum[1:]:
        raise ArmorError(f"the armored PGP {kind} fails its CRC-24 checksum (damaged)")
    return data


def _checksum(data: bytes) -> str:
    return base64.b64encode(crc24(data).to_bytes(3, "big")).decode("ascii")
