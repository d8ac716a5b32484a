"""Acceptance: duplicate contacts found, merged, hidden and put back on a real server.

Cards go in over CardDAV; the CLI (``murmeli contacts duplicates``) and the
``/api/duplicates`` routes work on them; what changed is read back over
CardDAV, and a real ``vdirsyncer`` client shows the merge reaching a client's
local copy in its next sync.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
import vobject

from tests.murmeli_process import MURMELI, MurmeliServer
from tests.test_vdirsyncer import Vdirsyncer, local_files

CARDS = {
    # same email, other case
    "ada-1": ["FN:Ada Lovelace", "EMAIL:Ada@Example.org", "TEL:+41 79 100 00 01"],
    "ada-2": ["FN:Lovelace Ada", "EMAIL:ada@EXAMPLE.org", "NOTE:met at the congress"],
    # one phone number in three forms
    "tom-1": ["FN:Tom Keller", "TEL:+41 79 123 45 67", "ORG:Keller AG"],
    "tom-2": ["FN:Thomas Keller", "TEL:079 123 45 67", "EMAIL:tom@keller.example"],
    "tom-3": ["FN:T. Keller", "TEL:0041791234567", "TITLE:CEO"],
    # swapped name order, same organisation
    "jd-1": ["FN:Jean Dupont", "ORG:Acme SA"],
    "jd-2": ["FN:Dupont Jean", "ORG:ACME SA", "URL:https://acme.example/jd"],
    # near misses: two different Jean Martins, and two with nothing else
    "jm-1": ["FN:Jean Martin", "EMAIL:jean.martin@acme.example", "ORG:Acme"],
    "jm-2": ["FN:Jean Martin", "EMAIL:jmartin@globex.example", "ORG:Acme"],
    "jm-3": ["FN:Jean Martin"],
    "jm-4": ["FN:Martin Jean"],
    "solo": ["FN:Grace Hopper", "EMAIL:grace@example.org"],
}
EXPECTED_GROUPS = [{"ada-1", "ada-2"}, {"jd-1", "jd-2"}, {"tom-1", "tom-2", "tom-3"}]


def vcard(uid: str, lines: list[str]) -> str:
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\n{body}END:VCARD\r\n"


class Book:
    """One user's address book, over CardDAV and the JSON API."""

    def __init__(self, server: MurmeliServer, prefix: str) -> None:
        self.server = server
        self.user, self.password = server.add_user(prefix)
        self.path = f"/{self.user}/contacts/"
        self.url = server.url + self.path
        answer = self.request("PROPFIND", f"{server.url}/{self.user}/", headers={"Depth": "1"})
        assert answer.status_code == 207, answer.text  # provisions the address book

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        return requests.request(method, url, auth=(self.user, self.password), timeout=30, **kwargs)

    def put(self, uid: str, text: str) -> None:
        answer = self.request(
            "PUT",
            f"{self.url}{uid}.vcf",
            data=text.encode(),
            headers={"Content-Type": "text/vcard"},
        )
        assert answer.status_code in (201, 204), answer.text

    def fill(self, cards: dict[str, list[str]]) -> None:
        for uid, lines in cards.items():
            self.put(uid, vcard(uid, lines))

    def texts(self) -> dict[str, str]:
        """uid -> stored text of every card, read over CardDAV one by one."""
        found = {}
        for uid in self.hrefs():
            answer = self.request("GET", f"{self.url}{uid}.vcf")
            assert answer.status_code == 200
            found[uid] = answer.text
        return found

    def hrefs(self) -> list[str]:
        answer = self.request("PROPFIND", self.url, headers={"Depth": "1"})
        assert answer.status_code == 207
        names = [part.split("<")[0] for part in answer.text.split(self.path)[1:]]
        return sorted(name.removesuffix(".vcf") for name in names if name.endswith(".vcf"))

    def api(self, method: str, route: str, **kwargs) -> requests.Response:
        return self.request(method, f"{self.server.url}/api/duplicates{route}", **kwargs)

    def groups(self, hidden: bool = False) -> list[dict]:
        params = {"addressbook": self.path} | ({"hidden": "1"} if hidden else {})
        answer = self.api("GET", "", params=params)
        assert answer.status_code == 200, answer.text
        (book,) = answer.json()["addressbooks"]
        return book["groups"]

    def cli(self, *args: str) -> str:
        result = self.server.cli("contacts", "duplicates", self.path, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout


def sync_collection(book: Book, token: str = "") -> tuple[str, dict[str, str]]:
    """RFC 6578 sync-collection: the new token, and href name -> status of what changed."""
    body = (
        '<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
        f"<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>"
        "<d:prop><d:getetag/></d:prop></d:sync-collection>"
    )
    answer = book.request("REPORT", book.url, data=body, headers={"Content-Type": "text/xml"})
    assert answer.status_code == 207, answer.text
    root = ElementTree.fromstring(answer.content)
    changes = {}
    for response in root.iter("{DAV:}response"):
        name = response.findtext("{DAV:}href").rsplit("/", 1)[-1]
        status = response.findtext("{DAV:}status") or response.findtext(".//{DAV:}status")
        changes[name] = status.split()[1]
    return root.findtext("{DAV:}sync-token"), changes


def by_uids(groups: list[dict]) -> dict[frozenset, dict]:
    return {frozenset(group["uids"]): group for group in groups}


def emails(text: str) -> set[str]:
    return {line.value.lower() for line in vobject.readOne(text).contents.get("email", [])}


@pytest.fixture
def book(server: MurmeliServer) -> Book:
    found = Book(server, "dup")
    found.fill(CARDS)
    return found


def test_cli_and_api_propose_the_same_groups(book: Book):
    listed = json.loads(book.cli("--json"))
    assert listed["addressbook"] == book.path
    assert [set(group["uids"]) for group in listed["groups"]] == [
        set(group["uids"]) for group in book.groups()
    ]
    assert set(map(frozenset, EXPECTED_GROUPS)) == set(by_uids(listed["groups"]))

    tom = by_uids(listed["groups"])[frozenset({"tom-1", "tom-2", "tom-3"})]
    merged = vobject.readOne(tom["merged"])
    assert tom["reference"] in tom["uids"]
    assert len(merged.contents["tel"]) == 1  # one number, written three ways
    assert emails(tom["merged"]) == {"tom@keller.example"}
    assert [line.value for line in merged.contents["title"]] == ["CEO"]
    assert [line.value for line in merged.contents["org"]] == [["Keller AG"]]

    everything = book.api("GET", "").json()["addressbooks"]
    assert [entry["addressbook"] for entry in everything] == [book.path]
    assert len(everything[0]["groups"]) == 3

    text = book.cli()
    assert all(group["id"] in text for group in listed["groups"])
    assert "3 groups in" in text


def test_merge_one_group_with_a_chosen_reference(book: Book):
    token, _ = sync_collection(book)
    ada = by_uids(book.groups())[frozenset({"ada-1", "ada-2"})]
    answer = book.api(
        "POST", "/merge", json={"addressbook": book.path, "group": ada["id"], "reference": "ada-2"}
    )
    assert answer.status_code == 200, answer.text
    assert sync_collection(book, token)[1] == {"ada-1.vcf": "404", "ada-2.vcf": "200"}
    assert answer.json()["restores"] == ["ada-1.vcf", "ada-2.vcf"]

    assert book.request("GET", f"{book.url}ada-1.vcf").status_code == 404
    kept = vobject.readOne(book.request("GET", f"{book.url}ada-2.vcf").text)
    assert kept.uid.value == "ada-2"
    assert kept.fn.value == "Lovelace Ada"
    assert "x-murmeli-also-fn" not in kept.contents  # the same words in another order
    assert [line.value for line in kept.contents["tel"]] == ["+41 79 100 00 01"]
    assert [line.value for line in kept.contents["note"]] == ["met at the congress"]
    assert frozenset({"ada-1", "ada-2"}) not in by_uids(book.groups())


def test_hide_unhide_then_merge_all_then_undo_restores_exactly(book: Book):
    before = book.texts()
    jd = by_uids(book.groups())[frozenset({"jd-1", "jd-2"})]

    book.cli("--hide", jd["id"])
    assert frozenset({"jd-1", "jd-2"}) not in by_uids(book.groups())
    assert by_uids(book.groups(hidden=True))[frozenset({"jd-1", "jd-2"})]["hidden"] is True

    merged = json.loads(book.cli("--merge-all", "--json"))
    assert sorted(merged["restores"]) == sorted(
        f"{uid}.vcf" for uid in ("ada-1", "ada-2", "tom-1", "tom-2", "tom-3")
    )
    assert book.groups() == []
    assert {"jd-1", "jd-2", "jm-1", "jm-2", "jm-3", "jm-4", "solo"} <= set(book.hrefs())
    assert len(book.hrefs()) == len(CARDS) - 3

    book.cli("--unhide", jd["id"])
    assert [group["id"] for group in book.groups()] == [jd["id"]]
    assert f"1 group in {book.path}" in book.cli()

    output = book.cli("--undo", merged["id"])
    assert "restored 5 cards" in output
    assert book.texts() == before
    again = book.server.cli("contacts", "duplicates", book.path, "--undo", merged["id"])
    assert again.returncode == 2 and "no merge" in again.stderr


def test_undo_refuses_to_overwrite_a_later_edit(book: Book):
    ada = by_uids(book.groups())[frozenset({"ada-1", "ada-2"})]
    undo_id = book.cli("--merge", ada["id"]).splitlines()[-1]
    reference = next(uid for uid in ("ada-1", "ada-2") if uid in book.hrefs())
    book.put(reference, vcard(reference, ["FN:Ada King", "EMAIL:ada@example.org"]))

    answer = book.api("POST", "/undo", json={"merge": undo_id})
    assert answer.status_code == 409, answer.text
    assert "changed meanwhile" in answer.json()["error"]
    assert "FN:Ada King" in book.request("GET", f"{book.url}{reference}.vcf").text


def test_bad_input_and_other_owners(book: Book, server: MurmeliServer):
    other = Book(server, "other")
    group = book.groups()[0]["id"]
    cases = [
        ("GET", "", {"params": {"addressbook": book.path}}, other, 403),
        ("POST", "/merge", {"json": {"addressbook": book.path, "group": group}}, other, 403),
        ("POST", "/merge", {"json": {"addressbook": book.path, "group": "0" * 16}}, book, 404),
        ("POST", "/merge", {"json": {"addressbook": book.path}}, book, 400),
        (
            "POST",
            "/merge",
            {"json": {"addressbook": book.path, "group": group, "reference": "solo"}},
            book,
            400,
        ),
        (
            "POST",
            "/hide",
            {"json": {"addressbook": f"/{book.user}/nope/", "group": group}},
            book,
            404,
        ),
        ("POST", "/unhide", {"json": {"addressbook": book.path, "group": group}}, book, 404),
        ("POST", "/undo", {"json": {"merge": "feedfeedfeedfeed"}}, book, 404),
    ]
    for method, route, kwargs, who, status in cases:
        answer = who.api(method, route, **kwargs)
        assert answer.status_code == status, (method, route, kwargs, answer.text)
        assert answer.json()["error"]
    assert len(book.hrefs()) == len(CARDS)

    undo_id = book.cli("--merge", group).splitlines()[-1]
    stolen = other.api("POST", "/undo", json={"merge": undo_id})
    assert stolen.status_code == 404, stolen.text

    result = server.cli("contacts", "duplicates", book.path, "--reference", "solo")
    assert result.returncode == 2 and "--reference goes with --merge" in result.stderr
    result = server.cli("contacts", "duplicates", "/nobody/")
    assert result.returncode == 2 and "/OWNER/BOOK/" in result.stderr


def test_a_vdirsyncer_client_converges_after_a_merge(tmp_path: Path, book: Book):
    local = tmp_path / "contacts"
    local.mkdir()
    config = tmp_path / "vdirsyncer.conf"
    account = {"url": book.server.url, "username": book.user, "password": book.password}
    remote = "".join(f"{key} = {json.dumps(value)}\n" for key, value in account.items())
    config.write_text(
        f"[general]\nstatus_path = {json.dumps(str(tmp_path / 'status'))}\n\n"
        '[pair card]\na = "card_local"\nb = "card_remote"\ncollections = ["from b"]\n\n'
        f'[storage card_local]\ntype = "filesystem"\npath = {json.dumps(str(tmp_path))}\n'
        'fileext = ".vcf"\n\n'
        f'[storage card_remote]\ntype = "carddav"\n{remote}',
        encoding="utf-8",
    )
    vdirsyncer = Vdirsyncer(config)
    vdirsyncer.run("discover")
    vdirsyncer.run("sync")
    assert set(local_files(local, "contacts")) == set(CARDS)

    tom = by_uids(book.groups())[frozenset({"tom-1", "tom-2", "tom-3"})]
    answer = book.api(
        "POST", "/merge", json={"addressbook": book.path, "group": tom["id"], "reference": "tom-1"}
    )
    assert answer.status_code == 200, answer.text
    output = vdirsyncer.run("sync")

    files = local_files(local, "contacts")
    assert set(files) == set(CARDS) - {"tom-2", "tom-3"}, output
    merged = files["tom-1"].read_text(encoding="utf-8")
    assert emails(merged) == {"tom@keller.example"}, output
    assert "TITLE:CEO" in merged
    served = book.request("GET", f"{book.url}tom-1.vcf").text
    assert merged == served.replace("\r\n", "\n")  # vdirsyncer stores LF line ends


CRASH_GROUPS = 300
CRASH_BOOK = "/crash/contacts/"


def crash_cards() -> str:
    """A card and a second one with the same email for each of ``CRASH_GROUPS`` people,
    and some people alone."""
    cards = []
    for number in range(CRASH_GROUPS + 40):
        email = f"person.{number}@example.org"
        cards.append(vcard(f"p{number}", [f"FN:Person{number} Keller", f"EMAIL:{email}"]))
        if number < CRASH_GROUPS:
            second = [f"FN:Keller Person{number}", f"EMAIL:{email.upper()}", "NOTE:second"]
            cards.append(vcard(f"s{number}", second))
    return "".join(cards)


def stored(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.glob("*.vcf")}


def test_a_merge_all_killed_part_way_is_undone_exactly(tmp_path: Path):
    """A real merge-all process killed (SIGKILL) once part of its groups are written: its
    undo record is there, marked unfinished, and undo restores every card exactly."""
    config = tmp_path / "murmeli.yaml"
    config.write_text("duplicates:\n  write_batch: 2\n", encoding="utf-8")
    murmeli = MurmeliServer(tmp_path / "data", config=config)
    cards = tmp_path / "cards.vcf"
    cards.write_text(crash_cards(), encoding="utf-8")
    imported = murmeli.cli(
        "contacts", "import", str(cards), "--addressbook", CRASH_BOOK, "--new-addressbook", "C"
    )
    assert imported.returncode == 0, imported.stderr
    folder = tmp_path / "data" / "collections" / "collection-root" / CRASH_BOOK.strip("/")
    before = stored(folder)
    assert len(before) == 2 * CRASH_GROUPS + 40

    merging = subprocess.Popen(
        [*MURMELI, "contacts", "duplicates", CRASH_BOOK, "--merge-all"],
        env=murmeli.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while sum(1 for _ in folder.glob("*.vcf")) == len(before):  # no group written yet
        assert merging.poll() is None, merging.stderr.read()
        assert time.monotonic() < deadline, "merge-all wrote nothing in 120 s"
    merging.kill()
    assert merging.wait() == -9  # killed, not finished
    merging.stderr.close()
    assert len(before) - CRASH_GROUPS < len(stored(folder)) < len(before)  # part way

    listed = murmeli.cli("contacts", "duplicates", CRASH_BOOK, "--merges", "--json")
    assert listed.returncode == 0, listed.stderr
    (record,) = json.loads(listed.stdout)
    assert record["finished"] is False
    assert len(record["restores"]) == len(before) - 40
    assert "unfinished" in murmeli.cli("contacts", "duplicates", CRASH_BOOK, "--merges").stdout

    undone = murmeli.cli("contacts", "duplicates", CRASH_BOOK, "--undo", record["id"])
    assert undone.returncode == 0, undone.stderr
    assert stored(folder) == before
    assert not list(folder.rglob(".Radicale.tmp-replace-*"))  # what the kill left is gone
    merges = murmeli.cli("contacts", "duplicates", CRASH_BOOK, "--merges", "--json")
    assert json.loads(merges.stdout) == []
    listed = json.loads(murmeli.cli("contacts", "duplicates", CRASH_BOOK, "--json").stdout)
    assert len(listed["groups"]) == CRASH_GROUPS
