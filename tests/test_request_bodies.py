"""Acceptance: request bodies are read whole and within the documented limits.

Chunked bodies (no Content-Length) are stored like any other; the general
limit (server.max_body_size, 10 MiB) answers 413 with a reason, JSON under
``/api/``; contact uploads may be as large as the README promises (50 MB).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.test_vdirsyncer import event

MIB = 1024 * 1024


def chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A generator body: requests sends it chunked, without Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def cards(total: int) -> bytes:
    """vCards, each with a long note, adding up to about ``total`` bytes."""
    note = "n" * 4000
    out, index = [], 0
    size = 0
    while size < total:
        index += 1
        text = (
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big-{index}\r\nFN:Person {index}\r\n"
            f"N:{index};Person;;;\r\nNOTE:{note}\r\nEND:VCARD\r\n"
        )
        out.append(text)
        size += len(text)
    return "".join(out).encode()


@pytest.fixture
def user(server):
    return server.add_dav_user("bodies")


def test_a_chunked_body_is_stored(server, user):
    url = f"{server.url}/{user[0]}/calendar/chunked.ics"
    body = event("chunked", "Sent in chunks").encode()
    answer = requests.put(url, data=chunks(body, 50), auth=user)
    assert answer.status_code == 201, answer.text
    stored = requests.get(url, auth=user)
    assert stored.status_code == 200
    assert "SUMMARY:Sent in chunks" in stored.text


def test_a_chunked_body_over_the_limit_is_refused(server, user):
    url = f"{server.url}/{user[0]}/calendar/chunked-huge.ics"
    answer = requests.put(url, data=chunks(b"x" * (11 * MIB)), auth=user)
    assert answer.status_code == 413
    assert "limit" in answer.text
    assert requests.get(url, auth=user).status_code == 404


def test_413_under_api_is_json(server, user):
    too_big = requests.post(
        f"{server.url}/api/shares",
        data=b" " * (11 * MIB),
        headers={"Content-Type": "application/json"},
        auth=user,
    )
    assert too_big.status_code == 413
    assert "limit" in too_big.json()["error"]
    chunked = requests.post(f"{server.url}/api/shares", data=chunks(b" " * (11 * MIB)), auth=user)
    assert chunked.status_code == 413
    assert "limit" in chunked.json()["error"]


def test_contact_uploads_may_be_as_large_as_documented(server, user):
    url = f"{server.url}/api/contacts/imports?addressbook=/{user[0]}/contacts/"
    headers = {"Content-Type": "text/vcard"}
    large = requests.post(url, data=cards(12 * MIB), headers=headers, auth=user)
    assert large.status_code == 201, large.text[:500]
    assert large.json()["preview"]
    too_large = requests.post(url, data=b" " * (51 * MIB), headers=headers, auth=user)
    assert too_large.status_code == 413
    assert "limit" in too_large.json()["error"]
