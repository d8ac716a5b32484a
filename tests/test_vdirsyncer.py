"""Acceptance: the real ``vdirsyncer`` client keeps local folders and Murmeli in step.

Local side: ``filesystem`` storages (one folder per collection) in tmp_path.
Remote side: ``caldav``/``carddav`` storages found by discovery from the server's
base URL. Each side starts with items the other lacks; after ``discover`` and
``sync`` both hold the union, a change on either side (edit, overwrite,
delete) reaches the other, and a sync with nothing to do touches nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.etree import ElementTree

import icalendar
import pytest
import requests
import vobject

from tests.murmeli_process import MurmeliServer

VDIRSYNCER = Path(sys.executable).parent / "vdirsyncer"
DAV = "{DAV:}"
PROPFIND_ETAGS = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
)
CHANGE_WORDS = ("Copying", "Updating", "Deleting")


# --- items -----------------------------------------------------------------------------


def event(uid: str, summary: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//murmeli tests//vdirsyncer//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        f"DTSTART:20240610T090000Z\r\nDTEND:20240610T100000Z\r\nSUMMARY:{summary}\r\n"
        f"{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def recurring_event(uid: str, summary: str) -> str:
    """A weekly series with one moved occurrence (two VEVENTs sharing the UID)."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//murmeli tests//vdirsyncer//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        "DTSTART:20240603T080000Z\r\nDTEND:20240603T083000Z\r\n"
        f"RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
        "RECURRENCE-ID:20240617T080000Z\r\n"
        "DTSTART:20240617T100000Z\r\nDTEND:20240617T103000Z\r\n"
        f"SUMMARY:{summary} (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def card(uid: str, name: str) -> str:
    given, family = name.split(" ", 1)
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{family};{given};;;\r\n"
        f"EMAIL:{given.lower()}@example.org\r\nEND:VCARD\r\n"
    )


def calendar_fields(text: str) -> tuple[str, str]:
    """(UID, SUMMARY) of the master VEVENT; also checks a series keeps its shape."""
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    master = next(e for e in events if "RECURRENCE-ID" not in e)
    if "RRULE" in master:
        assert len(events) == 2, f"series lost its moved occurrence:\n{text}"
        assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=10"
    return str(master["UID"]), str(master["SUMMARY"])


def card_fields(text: str) -> tuple[str, str]:
    vcard = vobject.readOne(text)
    return vcard.uid.value, vcard.fn.value


KINDS = {
    "calendar": (".ics", "text/calendar", calendar_fields),
    "contacts": (".vcf", "text/vcard", card_fields),
}


# --- the server side -------------------------------------------------------------------


@dataclass
class Remote:
    url: str
    user: str
    password: str

    def collection(self, kind: str) -> str:
        return f"{self.url}/{self.user}/{kind}/"

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, url, auth=(self.user, self.password), timeout=10, **kwargs)

    def put(self, kind: str, uid: str, body: str) -> None:
        extension, content_type, _ = KINDS[kind]
        answer = self.request(
            "PUT",
            self.collection(kind) + uid + extension,
            data=body.encode(),
            headers={"Content-Type": f"{content_type}; charset=utf-8"},
        )
        assert answer.status_code in (201, 204), answer.text

    def etags(self, kind: str) -> dict[str, str]:
        """href -> ETag of every item in the collection (PROPFIND, Depth 1)."""
        answer = self.request(
            "PROPFIND",
            self.collection(kind),
            data=PROPFIND_ETAGS,
            headers={"Depth": "1", "Content-Type": "application/xml"},
        )
        assert answer.status_code == 207, answer.text
        found = {}
        for response in ElementTree.fromstring(answer.content).iter(f"{DAV}response"):
            href = response.findtext(f"{DAV}href") or ""
            etag = response.findtext(f".//{DAV}getetag")
            if etag and not href.endswith("/"):
                found[urljoin(self.url + "/", href)] = etag
        return found

    def items(self, kind: str) -> dict[str, str]:
        """UID -> SUMMARY (or FN); fails on a UID stored twice."""
        fields = KINDS[kind][2]
        found: dict[str, str] = {}
        for href in self.etags(kind):
            answer = self.request("GET", href)
            assert answer.status_code == 200, f"GET {href}: {answer.status_code}"
            uid, value = fields(answer.text)
            assert uid not in found, f"UID {uid} duplicated on the server"
            found[uid] = value
        return found

    def href_of(self, kind: str, uid: str) -> str:
        fields = KINDS[kind][2]
        for href in self.etags(kind):
            if fields(self.request("GET", href).text)[0] == uid:
                return href
        raise AssertionError(f"{uid} not on the server")


# --- the local side --------------------------------------------------------------------


def local_files(folder: Path, kind: str) -> dict[str, Path]:
    """UID -> file; fails on a UID stored twice."""
    extension, _, fields = KINDS[kind]
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*" + extension)):
        uid = fields(path.read_text(encoding="utf-8"))[0]
        assert uid not in found, f"UID {uid} in both {found.get(uid)} and {path}"
        found[uid] = path
    return found


def local_items(folder: Path, kind: str) -> dict[str, str]:
    fields = KINDS[kind][2]
    return {
        uid: fields(path.read_text(encoding="utf-8"))[1]
        for uid, path in local_files(folder, kind).items()
    }


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace the file (new inode as well as new mtime), as editors that save atomically do."""
    text = path.read_text(encoding="utf-8")
    assert f"SUMMARY:{old}" in text
    draft = path.with_suffix(".tmp")
    draft.write_text(text.replace(f"SUMMARY:{old}", f"SUMMARY:{new}"), encoding="utf-8")
    os.replace(draft, path)


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


# --- vdirsyncer ------------------------------------------------------------------------


@dataclass
class Vdirsyncer:
    config: Path

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [str(VDIRSYNCER), "-c", str(self.config), *args],
            input="",  # an unexpected prompt fails instead of hanging
            capture_output=True,
            text=True,
            timeout=60,
        )
        output = f"$ vdirsyncer {' '.join(args)}\n{result.stdout}{result.stderr}"
        assert result.returncode == 0, output
        assert "error" not in output.lower(), output
        return output


def write_config(tmp_path: Path, remote: Remote) -> Path:
    def storage(name: str, **options: str) -> str:
        lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
        return f"[storage {name}]\n{lines}\n"

    def pair(name: str) -> str:
        return (
            f'[pair {name}]\na = "{name}_local"\nb = "{name}_remote"\n'
            'collections = ["from a", "from b"]\n\n'
        )

    account = {"url": remote.url, "username": remote.user, "password": remote.password}
    text = (
        f"[general]\nstatus_path = {json.dumps(str(tmp_path / 'status'))}\n\n"
        + pair("cal")
        + storage("cal_local", type="filesystem", path=str(tmp_path / "cal"), fileext=".ics")
        + storage("cal_remote", type="caldav", **account)
        + pair("card")
        + storage("card_local", type="filesystem", path=str(tmp_path / "card"), fileext=".vcf")
        + storage("card_remote", type="carddav", **account)
    )
    config = tmp_path / "vdirsyncer.conf"
    config.write_text(text, encoding="utf-8")
    return config


def assert_both_sides(
    remote: Remote,
    calendar: Path,
    contacts: Path,
    events: dict[str, str],
    cards: dict[str, str],
    output: str = "",
) -> None:
    assert remote.items("calendar") == events, output
    assert local_items(calendar, "calendar") == events, output
    assert remote.items("contacts") == cards, output
    assert local_items(contacts, "contacts") == cards, output


# --- the test --------------------------------------------------------------------------


@pytest.fixture
def remote(server: MurmeliServer) -> Remote:
    user, password = server.add_user("sync")
    found = Remote(server.url, user, password)
    answer = found.request("PROPFIND", f"{server.url}/{user}/", headers={"Depth": "1"})
    assert answer.status_code == 207, answer.text  # provisions calendar/ and contacts/
    return found


def test_vdirsyncer_two_way_sync(tmp_path: Path, remote: Remote) -> None:
    calendar, contacts = tmp_path / "cal" / "calendar", tmp_path / "card" / "contacts"
    calendar.mkdir(parents=True)
    contacts.mkdir(parents=True)
    local_events = {
        "ev-local-1": event("ev-local-1", "Dentist"),
        "ev-local-series": recurring_event("ev-local-series", "Standup"),
    }
    for uid, body in local_events.items():
        (calendar / f"{uid}.ics").write_text(body, encoding="utf-8")
    for uid, name in {"vc-local-1": "Ada Lovelace", "vc-local-2": "Alan Turing"}.items():
        (contacts / f"{uid}.vcf").write_text(card(uid, name), encoding="utf-8")
    remote.put("calendar", "ev-remote-1", event("ev-remote-1", "Team lunch"))
    remote.put("calendar", "ev-remote-2", event("ev-remote-2", "Review", "LOCATION:Room 4\r\n"))
    remote.put("contacts", "vc-remote-1", card("vc-remote-1", "Grace Hopper"))
    remote.put("contacts", "vc-remote-2", card("vc-remote-2", "Edsger Dijkstra"))

    vdirsyncer = Vdirsyncer(write_config(tmp_path, remote))
    found = vdirsyncer.run("discover")
    for saved in ('cal: collections = ["calendar"]', 'card: collections = ["contacts"]'):
        assert saved in found, found  # the server's own collections, matched by name
    output = vdirsyncer.run("sync")

    # 1. Both sides hold the union.
    events = {
        "ev-local-1": "Dentist",
        "ev-local-series": "Standup",
        "ev-remote-1": "Team lunch",
        "ev-remote-2": "Review",
    }
    cards = {
        "vc-local-1": "Ada Lovelace",
        "vc-local-2": "Alan Turing",
        "vc-remote-1": "Grace Hopper",
        "vc-remote-2": "Edsger Dijkstra",
    }
    assert_both_sides(remote, calendar, contacts, events, cards, output)

    # 2. One change on each side, then sync.
    edit_file(local_files(calendar, "calendar")["ev-remote-1"], "Team lunch", "Team dinner")
    remote.put("calendar", "ev-local-1", event("ev-local-1", "Dentist (moved)"))
    deleted = remote.href_of("contacts", "vc-local-2")
    assert remote.request("DELETE", deleted).status_code in (200, 204)
    output = vdirsyncer.run("sync")

    events |= {"ev-remote-1": "Team dinner", "ev-local-1": "Dentist (moved)"}
    del cards["vc-local-2"]
    assert_both_sides(remote, calendar, contacts, events, cards, output)

    # 3. Nothing changed: nothing moves, on either side.
    before = (snapshot(calendar), snapshot(contacts))
    etags = (remote.etags("calendar"), remote.etags("contacts"))
    output = vdirsyncer.run("sync")
    assert not any(word in output for word in CHANGE_WORDS), output
    assert (snapshot(calendar), snapshot(contacts)) == before, output
    assert (remote.etags("calendar"), remote.etags("contacts")) == etags, output
