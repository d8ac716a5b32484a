"""CSV batches: checked whole, at most 25 accounts, OAuth providers refused, nothing half-queued."""

from __future__ import annotations

from pathlib import Path

import pytest

from importer.batch import MAX_ACCOUNTS, BatchError, BatchRules, read_batch

HEADER = "source_address,source_password,server,port,security,destination_address\n"
MASTER = BatchRules(own_destination_password=False)


def rows(count: int) -> str:
    return "".join(
        f"user{n}@example.net,pw{n},imap.example.net,,,user{n}@example.org\n" for n in range(count)
    )


def test_a_file_of_25_accounts_is_read_whole() -> None:
    accounts = read_batch(HEADER + rows(MAX_ACCOUNTS), MASTER)
    assert len(accounts) == MAX_ACCOUNTS
    request, password, destination_password = accounts[3]
    assert (request.source_host, request.source_port, request.source_security) == (
        "imap.example.net", 993, "tls",
    )  # fmt: skip
    assert (request.source_login, password, destination_password) == (
        "user3@example.net", "pw3", None,
    )  # fmt: skip


def test_26_accounts_are_refused() -> None:
    with pytest.raises(BatchError, match="26 accounts: at most 25"):
        read_batch(HEADER + rows(26), MASTER)


def test_every_bad_row_is_named_by_its_line() -> None:
    text = (
        HEADER
        + rows(2)
        + "nobody,pw,imap.example.net,,,x@example.org\n"
        + "a@example.net,,imap.example.net,,,a@example.org\n"
        + "b@gmail.com,pw,,,,b@example.org\n"
        + "c@outlook.com,pw,,,,c@example.org\n"
        + "d@example.net,pw,imap.example.net,143,none,d@example.org\n"
        + "e@example.net,pw,,,,e@example.org\n"
        + "f@example.net,pw,imap.example.net,99x,,f@example.org\n"
    )
    with pytest.raises(BatchError) as refused:
        read_batch(text, MASTER)
    lines = str(refused.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"line {n}" for n in range(4, 11)]
    assert "not an email address" in lines[0]
    assert "source_password is empty" in lines[1]
    assert "app password" in lines[2] and "murmeli import add" in lines[2]
    assert "Microsoft" in lines[3]
    assert "--allow-plaintext" in lines[4]
    assert "--server" in lines[5]
    assert "port" in lines[6]


def test_plaintext_when_allowed_and_the_destination_password_when_needed() -> None:
    plain = HEADER + "d@example.net,pw,imap.example.net,1143,none,d@example.org\n"
    ((request, _, _),) = read_batch(plain, BatchRules(False, allow_plaintext=True))
    assert (request.source_port, request.source_security) == (1143, "none")
    own = BatchRules(own_destination_password=True)
    with pytest.raises(BatchError, match="destination_password is empty"):
        read_batch(HEADER + rows(1), own)
    with_password = HEADER.replace("\n", ",destination_password\n") + rows(1).replace(
        "\n", ",dest-pw\n"
    )
    assert read_batch(with_password, own)[0][2] == "dest-pw"


def test_a_wrong_header_is_refused() -> None:
    with pytest.raises(BatchError, match=r"line 1: .*missing: destination_address"):
        read_batch("source_address,source_password\na@b.c,pw\n", MASTER)
    with pytest.raises(BatchError, match="unknown: colour"):
        read_batch(HEADER.replace("\n", ",colour\n"), MASTER)


def test_the_template_is_a_valid_batch() -> None:
    template = Path(__file__).parent.parent / "importer" / "batch-template.csv"
    assert len(read_batch(template.read_text(), MASTER)) == 2
