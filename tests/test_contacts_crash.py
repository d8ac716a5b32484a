"""Acceptance: ``kill -9`` of a real ``murmeli contacts import`` at several points of a
10,000-card commit. Afterwards ``murmeli serve`` answers PROPFIND and sync-collection on
every collection of the account with 207, a new address book is there whole or not at all,
and the import, retried, stores exactly the 10,000 cards.

The points are found on disk, never by timing: the test polls how many card files the
import has written (staged or in place) and how many are in place, and kills it as soon
as a mark is reached."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urljoin
from xml.etree import ElementTree

import pytest
import requests
import vobject

from tests.murmeli_process import MURMELI, MurmeliServer

CARDS = 10_000
DAV = "{DAV:}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
PROPFIND = (
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:sync-token/>'
    "<d:resourcetype/></d:prop></d:propfind>"
)
SYNC = (
    '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
QUERY = (
    '<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" '
    'xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop>'
    '<C:filter><C:prop-filter name="FN"/></C:filter></C:addressbook-query>'
)
_DEADLINE = 600  # seconds for one import on a loaded machine


@pytest.fixture
def account(fresh_data: MurmeliServer) -> Iterator[tuple[MurmeliServer, tuple[str, str]]]:
    """A user whose default collections exist (made on the first login), no server running."""
    fresh_data.start()
    try:
        user = fresh_data.add_user("crash")
        found = requests.request(
            "PROPFIND", urljoin(fresh_data.url, f"/{user[0]}/"), auth=user, headers={"Depth": "1"}
        )
        assert found.status_code == 207
    finally:
        fresh_data.stop()
    yield fresh_data, user


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 small vCards without UID: each gets one from its content."""
    path = tmp_path_factory.mktemp("export") / "contacts.vcf"
    cards = (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {n}\r\nN:{n};Person;;;\r\n"
        f"EMAIL:p{n}@example.org\r\nEND:VCARD\r\n"
        for n in range(CARDS)
    )
    path.write_text("".join(cards), encoding="utf-8")
    return path


def card_files(folder: Path, skip: set[str]) -> int:
    """Card files under ``folder``, staged or in place, but not those in the folders ``skip``
    (left by an earlier import) nor Radicale's cache entries."""
    count = 0
    for root, folders, files in os.walk(folder):
        folders[:] = [
            name
            for name in folders
            if name != ".Radicale.cache" and os.path.join(root, name) not in skip
        ]
        count += sum(name.endswith(".vcf") for name in files)
    return count


def in_place(book: Path) -> int:
    """Cards Radicale serves from ``book``: the files directly in it."""
    if not book.is_dir():
        return 0
    with os.scandir(book) as entries:
        return sum(entry.name.endswith(".vcf") and entry.is_file() for entry in entries)


def kill_when(
    murmeli: MurmeliServer, args: list[str], progress: Callable[[], int], mark: int
) -> str | None:
    """Runs ``murmeli contacts import ARGS`` and kills it (SIGKILL) as soon as ``progress()``
    reaches ``mark``; None when killed, else what it wrote on stderr before it ended."""
    process = subprocess.Popen(
        [*MURMELI, "contacts", "import", *args],
        env=murmeli.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + _DEADLINE
    try:
        while process.poll() is None:
            if progress() >= mark:
                process.kill()
                process.wait()
                return None
            assert time.monotonic() < deadline, "the import made no progress"
            time.sleep(0.005)  # the poll interval, not a wait for an outcome
        return process.communicate()[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def run_import(murmeli: MurmeliServer, args: list[str]) -> subprocess.CompletedProcess:
    """``murmeli contacts import ARGS`` to its end (slow on a loaded machine: a long timeout)."""
    return subprocess.run(
        [*MURMELI, "contacts", "import", *args],
        env=murmeli.environment(),
        capture_output=True,
        text=True,
        timeout=_DEADLINE,
    )


def assert_account_works(murmeli: MurmeliServer, user: tuple[str, str]) -> set[str]:
    """Starts ``murmeli serve`` and asks every collection of ``user`` what a client asks
    first; returns the collection paths."""
    murmeli.start()
    try:
        principal = f"/{user[0]}/"
        answer = requests.request(
            "PROPFIND", urljoin(murmeli.url, principal), auth=user,
            headers={"Depth": "1"}, data=PROPFIND,
        )  # fmt: skip
        assert answer.status_code == 207, answer.text
        collections = {
            href
            for href in (e.text for e in ElementTree.fromstring(answer.content).iter(f"{DAV}href"))
            if href and href.endswith("/") and href != principal
        }
        for path in collections:
            url = urljoin(murmeli.url, path)
            listing = requests.request(
                "PROPFIND", url, auth=user, headers={"Depth": "1"}, data=PROPFIND
            )
            assert listing.status_code == 207, f"PROPFIND {path}: {listing.status_code}"
            sync = requests.request("REPORT", url, auth=user, headers={"Depth": "0"}, data=SYNC)
            assert sync.status_code == 207, f"sync-collection {path}: {sync.status_code}"
        murmeli.assert_log_clean()
        return collections
    finally:
        murmeli.stop()


def names_served(murmeli: MurmeliServer, user: tuple[str, str], book: str) -> list[str]:
    """FN of every card of ``book``, from one addressbook-query REPORT."""
    murmeli.start()
    try:
        answer = requests.request(
            "REPORT", urljoin(murmeli.url, book), auth=user, headers={"Depth": "1"}, data=QUERY
        )
        assert answer.status_code == 207
        return [
            vobject.readOne(data.text).fn.value
            for data in ElementTree.fromstring(answer.content).iter(f"{CARDDAV}address-data")
        ]
    finally:
        murmeli.stop()


def leftovers(folder: Path) -> set[str]:
    """Temporary folders (Radicale's and the import's) under ``folder``."""
    return {str(path) for path in folder.rglob(".Radicale.tmp-*")}


def test_kill_during_an_import_into_an_existing_address_book(account, export):
    murmeli, user = account
    book = f"/{user[0]}/contacts/"
    folder = murmeli.data / "collections" / "collection-root" / user[0] / "contacts"
    args = [str(export), "--addressbook", book]
    # (files written, staged or in place, or files in place; share of the cards left to import)
    for placed, share in [(False, 0.1), (False, 0.5), (False, 0.9), (True, 0.5)]:
        before, old = in_place(folder), leftovers(folder)
        mark = before + max(1, int(share * (CARDS - before)))
        progress = partial(in_place, folder) if placed else partial(card_files, folder, old)
        assert kill_when(murmeli, args, progress, mark) is None, (placed, share)
        assert_account_works(murmeli, user)
    # right at the end: every card in place, the import not yet done
    kill_when(murmeli, args, partial(in_place, folder), CARDS)
    assert_account_works(murmeli, user)

    present = in_place(folder)
    retried = run_import(murmeli, args)
    assert retried.returncode == 0, retried.stderr
    assert f"{present} already present" in retried.stdout
    names = names_served(murmeli, user, book)
    assert len(names) == CARDS
    assert set(names) == {f"Person {n}" for n in range(CARDS)}
    assert card_files(folder, set()) == CARDS  # nothing staged is left behind
    again = run_import(murmeli, args)
    assert again.returncode == 0, again.stderr
    assert f"{CARDS} already present, nothing added" in again.stdout
    assert len(names_served(murmeli, user, book)) == CARDS


def test_kill_while_a_new_address_book_is_made_leaves_none(account, export):
    murmeli, user = account
    book = f"/{user[0]}/imported/"
    principal = murmeli.data / "collections" / "collection-root" / user[0]
    args = [str(export), "--addressbook", book, "--new-addressbook", "Imported"]
    collections = assert_account_works(murmeli, user)
    for share in (0.5, 0.99):  # 0.99: right before the book is put in place
        mark, old = int(share * CARDS), leftovers(principal)
        assert kill_when(murmeli, args, partial(card_files, principal, old), mark) is None
        assert assert_account_works(murmeli, user) == collections
    retried = run_import(murmeli, args)
    assert retried.returncode == 0, retried.stderr
    assert len(names_served(murmeli, user, book)) == CARDS
    assert leftovers(principal) == set()
