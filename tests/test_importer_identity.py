"""Message identity and the flags that travel with a copy."""

from __future__ import annotations

from importer.identity import has_message_id, header_values, kept_flags, message_identity

HEADERS = (
    b"Message-ID: <abc@example.org>\r\n"
    b"Date: Mon, 3 Mar 2025 10:00:00 +0100\r\n"
    b"From: Alice <alice@example.org>\r\n"
    b"Subject: Quarterly\r\n numbers\r\n\r\n"
)


def identity(header_block: bytes, size: int, body_prefix: bytes | None = None) -> str:
    return message_identity(header_values(header_block), size, body_prefix)


def test_header_values_unfold_and_take_the_first_occurrence() -> None:
    values = header_values(HEADERS + b"Subject: second\r\n")
    assert values["SUBJECT"] == b"Quarterly numbers"
    assert values["MESSAGE-ID"] == b"<abc@example.org>"


def test_identity_is_stable_across_header_order_folding_and_case() -> None:
    reordered = (
        b"subject: Quarterly numbers\r\n"
        b"FROM:   Alice <alice@example.org>\r\n"
        b"Date: Mon, 3 Mar 2025 10:00:00 +0100\r\n"
        b"Message-Id:\r\n <abc@example.org> (comment)\r\n\r\n"
    )
    assert identity(HEADERS, 1000) == identity(reordered, 1000)


def test_size_and_each_header_tell_messages_apart() -> None:
    base = identity(HEADERS, 1000)
    assert identity(HEADERS, 1001) != base
    for old, new in [
        (b"abc@", b"abd@"),
        (b"10:00", b"10:01"),
        (b"Alice", b"Alicia"),
        (b"Quarterly", b"Monthly"),
    ]:
        assert identity(HEADERS.replace(old, new), 1000) != base


def test_without_message_id_the_body_start_decides() -> None:
    headers = HEADERS.replace(b"Message-ID: <abc@example.org>\r\n", b"")
    assert not has_message_id(header_values(headers))
    assert has_message_id(header_values(HEADERS))
    first = identity(headers, 500, b"Hello Bob")
    assert identity(headers, 500, b"Hello Bob") == first
    assert identity(headers, 500, b"Hello Eve") != first
    # With a Message-ID the body is not read: the header fetch is enough.
    assert identity(HEADERS, 500, b"x") == identity(HEADERS, 500, b"y")


def test_kept_flags_drop_recent_and_deleted_and_keep_keywords() -> None:
    flags = [
        b"\\Seen",
        b"\\Recent",
        b"\\answered",
        b"\\Deleted",
        b"$Forwarded",
        b"\\Flagged",
        "\\Draft",
        "Work",
    ]
    assert kept_flags(flags) == (
        "\\Seen",
        "\\Answered",
        "$Forwarded",
        "\\Flagged",
        "\\Draft",
        "Work",
    )
