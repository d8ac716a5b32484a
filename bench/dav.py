"""Side-by-side CalDAV/CardDAV benchmark: stock Radicale, Xandikos and Murmeli.

Run ``.venv/bin/python bench/dav.py`` (``--quick`` for a smoke run). The script

1. generates one data set, deterministically (a fixed seed, anchored on today's
   date): a calendar of 5,000 events (about a fifth weekly recurring, some with
   EXDATE, a third in Europe/Berlin with a VTIMEZONE, a fifth all-day, spread
   over a year before and after today, 0.5-1.6 KB each, median 0.9 KB) and an
   address book of 2,000 vCard 3.0 contacts (~0.6 KB each);
2. loads it into three servers, each in its own temporary folder under
   ``bench/.work/`` and on its own free 127.0.0.1 port:

   * **Radicale** (stock, ``python -m radicale --config FILE``: plain htpasswd
     auth, ``owner_only`` rights, every other option at its default, including
     info-level logging, here to a log file) and **Murmeli** (``murmeli serve``,
     its default settings; the user is made with ``murmeli user add``): both use
     Radicale's multifilesystem layout, so the item files are written straight
     into ``collection-root/bench/{calendar,contacts}/`` before the start;
   * **Xandikos** (``xandikos serve``, no authentication: it only offers Basic
     auth over its self-signed TLS): its default principal is created with
     Xandikos' own code, then every item is written into the collection's git
     work tree, staged and committed in one commit with dulwich: the end state
     5,000 PUTs would give, but ~1 s instead of many minutes (each PUT commits
     the whole growing tree: 500 PUTs took 9 s, 2,000 took 94 s, against 0.2 s
     and 0.8 s for the single commit);

3. checks that each server lists exactly the generated items (PROPFIND depth 1),
   and fails loudly if not; every answer timed later is checked too (below);
4. measures, with one keep-alive ``requests`` session per server (Radicale's
   built-in server speaks HTTP/1.0 and closes every connection anyway; like real
   clients the session accepts gzip: Radicale and Murmeli compress, Xandikos
   does not), client-side, from sending the request to the whole body read:

   * PUT of a new event (a new UID each time) into the full calendar;
   * PROPFIND depth 1 on the calendar (getetag, getcontenttype, resourcetype):
     *cold* (the first request of a new server process with Radicale's on-disk
     item cache removed, so every item is parsed again; Xandikos keeps no such
     cache), *restart* (the first request of a new process, item cache kept) and
     *warm*; cold and restart are measured ``--cold`` times each;
   * calendar-multiget of 100 items (by href, with calendar-data);
   * sync-collection: initial (empty token) and incremental (the token from
     before one PUT);
   * calendar-query with a one-month time-range on VEVENT (the servers expand
     recurring events to test them), asking for getetag; with ``--expand`` also
     asking for calendar-data with ``<expand>`` (off by default: Radicale takes
     ~17 s per such request at 5,000 events);
   * GET of the calendar collection (the whole calendar as one .ics; "n/a"
     where the server answers something else, e.g. Xandikos' HTML listing);
   * PROPFIND depth 1 on the address book.

Each measurement is repeated (``--repeat``) after one untimed warm-up round,
the servers taking turns request by request, with the order rotated each
round, so machine noise hits all of them alike. The table shows median
milliseconds and "Murmeli/Radicale" = Radicale ms / Murmeli ms: 1.00 means as
fast, higher is faster (the project's target is >= 0.95 on every row).

Every answer, warm-up round included, is compared with Radicale's (the reference)
and with the data set: the same item names (the last href segment) in PROPFIND,
sync-collection, calendar-query and multiget answers, the same UIDs in multiget
calendar-data, the same UIDs and VEVENT counts in expanded answers and whole-calendar
GETs; on each server a multiget ETag must equal its PROPFIND's (ETags differ between
servers). A difference stops the run with exit status 1 and no table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answers import multistatus, vevent_uids
from bench.report import Mismatch, exit_status, markdown, plain, rotated, speed_ratio, verify
from tests.ical_samples import central_european_vtimezone
from tests.ports import free_port

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
BIN_DIR = Path(sys.executable).parent
USER = "bench"
PASSWORD = "bench-password-1"
SEED = 20240607
CRLF = "\r\n"


class BenchError(RuntimeError):
    """A server misbehaved or disagrees with the data set: the run is void."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Item:
    name: str  # file name in the collection, also the last segment of its href
    uid: str
    data: bytes


@dataclass(frozen=True)
class Dataset:
    anchor: dt.datetime  # today, 00:00 UTC
    events: list[Item]
    contacts: list[Item]

    def month(self) -> tuple[str, str]:
        """The current calendar month, as CalDAV time-range bounds."""
        start = self.anchor.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1)
        return _utc(start), _utc(end)


BERLIN = central_european_vtimezone("Europe/Berlin").splitlines()


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = _words(
    "budget review planning sync design retro customer onboarding roadmap release "
    "interview workshop dentist football piano lunch dinner offsite audit migration "
    "quarterly weekly standup handover training webinar board meeting call demo"
)
FIRST = _words("Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Lena Max Nina Paula")
LAST = _words("Schmidt Keller Wagner Becker Hoffmann Richter Wolf Neumann Braun Zimmer")
CITIES = _words("Berlin Hamburg Munich Cologne Frankfurt Leipzig Bremen Dresden Hanover")


def _utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """RFC 5545 line folding (the content is ASCII, so characters are octets)."""
    parts = [line[:75]]
    parts += [" " + line[i : i + 74] for i in range(75, len(line), 74)]
    return CRLF.join(parts)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first}.{last}@example.org".lower()


def _event_times(
    rng: random.Random, anchor: dt.datetime, kind: str
) -> tuple[list[str], Callable[[dt.datetime], str]]:
    """DTSTART/DTEND lines, and how to write an occurrence start (for EXDATE)."""
    day = anchor + dt.timedelta(days=rng.randint(-365, 365))
    if kind == "allday":

        def date(moment: dt.datetime) -> str:
            return ";VALUE=DATE:" + moment.strftime("%Y%m%d")

        end = day + dt.timedelta(days=rng.choice((1, 1, 1, 2, 3)))
        return [f"DTSTART{date(day)}", f"DTEND{date(end)}"], date
    start = day.replace(hour=rng.randint(7, 19), minute=rng.choice((0, 15, 30, 45)))
    end = start + dt.timedelta(minutes=rng.choice((30, 45, 60, 60, 90, 120)))
    if kind == "berlin":

        def local(moment: dt.datetime) -> str:
            return ";TZID=Europe/Berlin:" + moment.strftime("%Y%m%dT%H%M%S")

        return [f"DTSTART{local(start)}", f"DTEND{local(end)}"], local
    return [f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}"], lambda moment: ":" + _utc(moment)


def _recurrence(rng: random.Random, times: list[str], stamp: Callable) -> list[str]:
    """A weekly RRULE (count, until or open-ended), sometimes with EXDATEs."""
    first = _first_start(times)
    style = rng.randrange(3)
    rule = "RRULE:FREQ=WEEKLY"
    if style == 0:
        rule += f";COUNT={rng.randint(8, 52)}"
    elif style == 1:
        rule += f";UNTIL={_utc(first + dt.timedelta(weeks=rng.randint(8, 60)))}"
    lines = [rule]
    if rng.random() < 0.35:
        skipped = sorted(rng.sample(range(1, 8), rng.randint(1, 2)))
        lines += [f"EXDATE{stamp(first + dt.timedelta(weeks=week))}" for week in skipped]
    return lines


def _first_start(times: list[str]) -> dt.datetime:
    value = times[0].rsplit(":", 1)[1].rstrip("Z")
    pattern = "%Y%m%d" if len(value) == 8 else "%Y%m%dT%H%M%S"
    return dt.datetime.strptime(value, pattern).replace(tzinfo=dt.UTC)


def make_event(rng: random.Random, anchor: dt.datetime, uid: str, recurring: float = 0.2) -> bytes:
    kind = rng.choices(("utc", "berlin", "allday"), weights=(45, 35, 20))[0]
    times, stamp = _event_times(rng, anchor, kind)
    organiser, organiser_mail = _person(rng)
    body = [
        f"UID:{uid}",
        f"DTSTAMP:{_utc(anchor)}",
        f"CREATED:{_utc(anchor - dt.timedelta(days=400))}",
        f"LAST-MODIFIED:{_utc(anchor - dt.timedelta(days=rng.randint(1, 399)))}",
        "SEQUENCE:0",
        f"SUMMARY:{_text(rng, rng.randint(2, 5)).capitalize()}",
        f"DESCRIPTION:{_text(rng, rng.randint(4, 30))}",
        f"LOCATION:Room {rng.randint(1, 40)}\\, {rng.choice(CITIES)}",
        f"ORGANIZER;CN={organiser}:mailto:{organiser_mail}",
        *[
            f"ATTENDEE;CN={name};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:{mail}"
            for name, mail in (_person(rng) for _ in range(rng.randint(0, 3)))
        ],
        f"CATEGORIES:{rng.choice(WORDS).upper()}",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        *times,
    ]
    if rng.random() < recurring:
        body += _recurrence(rng, times, stamp)
    if rng.random() < 0.5:
        body += ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "TRIGGER:-PT15M"]
        body += ["END:VALARM"]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Murmeli//bench//EN"]
    lines += BERLIN if kind == "berlin" else []
    lines += ["BEGIN:VEVENT", *body, "END:VEVENT", "END:VCALENDAR"]
    return (CRLF.join(_fold(line) for line in lines) + CRLF).encode()


def make_contact(rng: random.Random, uid: str) -> bytes:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    mail = f"{first}.{last}{rng.randint(1, 999)}".lower()
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "PRODID:-//Murmeli//bench//EN",
        f"UID:{uid}",
        f"FN:{first} {last}",
        f"N:{last};{first};;;",
        f"ORG:{rng.choice(LAST)} {rng.choice(('GmbH', 'AG', 'KG', 'e.V.'))}",
        f"TITLE:{_text(rng, 2).title()}",
        f"EMAIL;TYPE=INTERNET,WORK:{mail}@example.org",
        f"EMAIL;TYPE=INTERNET,HOME:{mail}@example.net",
        f"TEL;TYPE=CELL:+49 15{rng.randint(10, 99)} {rng.randint(1000000, 9999999)}",
        f"TEL;TYPE=WORK,VOICE:+49 30 {rng.randint(100000, 999999)}",
        f"ADR;TYPE=WORK:;;{rng.choice(LAST)}str. {rng.randint(1, 200)};"
        f"{rng.choice(CITIES)};;{rng.randint(10000, 99999)};Germany",
        f"BDAY:{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"NOTE:{_text(rng, rng.randint(3, 25))}",
        f"CATEGORIES:{rng.choice(('Work', 'Family', 'Friends', 'Clients'))}",
        "REV:2025-01-01T00:00:00Z",
        "END:VCARD",
    ]
    return (CRLF.join(_fold(line) for line in lines) + CRLF).encode()


def make_dataset(events: int, contacts: int) -> Dataset:
    rng = random.Random(SEED)
    anchor = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    calendar = []
    for number in range(events):
        uid = f"bench-event-{number:06d}@murmeli.invalid"
        calendar.append(Item(f"event-{number:06d}.ics", uid, make_event(rng, anchor, uid)))
    book = []
    for number in range(contacts):
        uid = f"bench-contact-{number:06d}@murmeli.invalid"
        book.append(Item(f"contact-{number:06d}.vcf", uid, make_contact(rng, uid)))
    return Dataset(anchor, calendar, book)


def write_items(folder: Path, items: list[Item]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for item in items:
        (folder / item.name).write_bytes(item.data)


# ------------------------------------------------------------------------ servers


def executable(name: str) -> str:
    found = shutil.which(name, path=str(BIN_DIR))
    if not found:
        raise BenchError(f"{name} not found next to {sys.executable}; is it installed?")
    return found


def run_murmeli(data: Path, *args: str, stdin: str | None = None) -> str:
    """A ``murmeli`` CLI command on the data folder ``data``; its stdout."""
    done = subprocess.run(
        [executable("murmeli"), *args, "--data", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ, MURMELI_CONFIG=""),
    )
    if done.returncode != 0:
        raise BenchError(f"murmeli {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


@dataclass
class Server:
    """One server process: loads the data set into ``root``, then starts and stops."""

    root: Path
    name: str = ""
    calendar: str = ""  # collection paths, with trailing slash
    addressbook: str = ""
    credentials: tuple[str, str] | None = (USER, PASSWORD)
    note: str = ""
    port: int = 0
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def load(self, data: Dataset) -> None:
        raise NotImplementedError

    def drop_item_cache(self) -> None:
        """Forget what the server caches on disk between processes (nothing, by default)."""

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.port = free_port()
        self.starts += 1
        command = self.command()
        with self.log.open("ab") as log:
            log.write(f"\n===== start {self.starts}: {' '.join(command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop the servers
                env=dict(os.environ, MURMELI_CONFIG=""),
            )
        self._wait_until_listening()

    def _wait_until_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited at start:\n{self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return
            time.sleep(0.05)
        raise BenchError(f"{self.name} did not listen within {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def drop_radicale_item_cache(collections: Path) -> None:
    """Radicale keeps parsed items in ``.Radicale.cache`` folders; without them it re-parses all."""
    for cache in collections.rglob(".Radicale.cache"):
        shutil.rmtree(cache)


def radicale_layout(collections: Path, data: Dataset) -> None:
    """Radicale's multifilesystem layout: ``collection-root/<user>/<collection>/``."""
    home = collections / "collection-root" / USER
    calendar = home / "calendar"
    book = home / "contacts"
    write_items(calendar, data.events)
    write_items(book, data.contacts)
    calendar_props = {
        "C:supported-calendar-component-set": "VEVENT,VTODO,VJOURNAL",
        "D:displayname": "Calendar",
        "tag": "VCALENDAR",
    }
    book_props = {"D:displayname": "Contacts", "tag": "VADDRESSBOOK"}
    (calendar / ".Radicale.props").write_text(json.dumps(calendar_props))
    (book / ".Radicale.props").write_text(json.dumps(book_props))


@dataclass
class Radicale(Server):
    name: str = f"Radicale {version('radicale')}"
    calendar: str = f"/{USER}/calendar/"
    addressbook: str = f"/{USER}/contacts/"

    def load(self, data: Dataset) -> None:
        radicale_layout(self.root / "collections", data)
        (self.root / "users").write_text(f"{USER}:{PASSWORD}\n")

    def drop_item_cache(self) -> None:
        drop_radicale_item_cache(self.root / "collections")

    def command(self) -> list[str]:
        config = self.root / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {self.root / 'users'}\n"
            "htpasswd_encryption = plain\n\n"
            "[rights]\ntype = owner_only\n\n"
            f"[storage]\nfilesystem_folder = {self.root / 'collections'}\n"
        )
        return [sys.executable, "-m", "radicale", "--config", str(config)]


@dataclass
class Murmeli(Server):
    name: str = "Murmeli"
    calendar: str = f"/{USER}/calendar/"
    addressbook: str = f"/{USER}/contacts/"
    note: str = (
        "Murmeli's client logs in with a device app password, as configured devices do"
        " (stored as a SHA-256 digest: 130 random bits); account passwords are Argon2id,"
        " ~0.1 s on a process's first login. Radicale's htpasswd here is plain text."
    )

    def load(self, data: Dataset) -> None:
        radicale_layout(self.root / "data" / "collections", data)
        data_folder = self.root / "data"
        run_murmeli(data_folder, "user", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
        created = run_murmeli(data_folder, "user", "app-password", "add", USER, "--label", "bench")
        self.credentials = (USER, created.splitlines()[-1])

    def drop_item_cache(self) -> None:
        drop_radicale_item_cache(self.root / "data" / "collections")

    def command(self) -> list[str]:
        listen, data = f"127.0.0.1:{self.port}", str(self.root / "data")
        return [executable("murmeli"), "serve", "--listen", listen, "--data", data]


@dataclass
class Xandikos(Server):
    name: str = f"Xandikos {version('xandikos')}"
    calendar: str = "/user/calendars/calendar/"
    addressbook: str = "/user/contacts/addressbook/"
    credentials: tuple[str, str] | None = None
    note: str = "Xandikos runs without authentication (it offers Basic auth only over TLS)."

    def load(self, data: Dataset) -> None:
        from xandikos.web import SingleUserFilesystemBackend

        store = self.root / "store"
        store.mkdir()
        SingleUserFilesystemBackend(str(store)).create_principal("/user/", create_defaults=True)
        git_import(store / self.calendar.strip("/"), data.events)
        git_import(store / self.addressbook.strip("/"), data.contacts)

    def command(self) -> list[str]:
        store, state = str(self.root / "store"), str(self.root / "state")
        listen = ["-l", "127.0.0.1", "-p", str(self.port), "--no-detect-systemd"]
        return [executable("xandikos"), "serve", "-d", store, *listen, "--state-dir", state]


def git_import(collection: Path, items: list[Item]) -> None:
    """What Xandikos does per PUT (file in the work tree, blob, index entry, commit), once."""
    from dulwich.index import index_entry_from_stat
    from dulwich.objects import Blob
    from dulwich.repo import Repo

    repo = Repo(str(collection))
    index = repo.open_index()
    blobs = []
    for item in items:
        path = collection / item.name
        path.write_bytes(item.data)
        blob = Blob.from_string(item.data)
        blobs.append((blob, None))
        index[item.name.encode()] = index_entry_from_stat(os.lstat(path), blob.id)
    repo.object_store.add_objects(blobs)
    index.write()
    tree = index.commit(repo.object_store)
    repo.get_worktree().commit(message=f"Import {len(items)} items".encode(), tree=tree)
    repo.close()


# ------------------------------------------------------------------------- client

PROPFIND = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop>
<d:resourcetype/><d:getetag/><d:getcontenttype/>
</d:prop></d:propfind>"""

MULTIGET = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/><c:calendar-data/></d:prop>
{hrefs}
</c:calendar-multiget>"""

SYNC = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:">
<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
<d:prop><d:getetag/></d:prop>
</d:sync-collection>"""

QUERY = """<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:prop><d:getetag/>{data}</d:prop>
<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">
<c:time-range start="{start}" end="{end}"/>
</c:comp-filter></c:comp-filter></c:filter>
</c:calendar-query>"""

EXPAND = '<c:calendar-data><c:expand start="{start}" end="{end}"/></c:calendar-data>'
XML = "application/xml; charset=utf-8"
_SYNC_TOKEN = re.compile(rb"<(?:[\w-]+:)?sync-token>([^<]+)<")


class Client:
    """A keep-alive session on one server; every request is timed and its status checked."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.auth = server.credentials

    def close(self) -> None:
        self.session.close()

    def timed(
        self,
        method: str,
        path: str,
        expect: tuple[int, ...],
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[float, requests.Response]:
        """Milliseconds from sending to the whole (decoded) body read, and the response."""
        if isinstance(body, str):
            body = body.encode()
        started = time.perf_counter()
        response = self.session.request(method, self.server.url + path, data=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code not in expect:
            raise BenchError(
                f"{self.server.name}: {method} {path} answered {response.status_code}, "
                f"expected {expect}: {response.text[:300]!r}"
            )
        return elapsed, response

    def propfind(self, path: str) -> tuple[float, requests.Response]:
        headers = {"Depth": "1", "Content-Type": XML}
        return self.timed("PROPFIND", path, (207,), PROPFIND, headers)

    def report(self, body: str, depth: str = "1") -> tuple[float, requests.Response]:
        headers = {"Depth": depth, "Content-Type": XML}
        return self.timed("REPORT", self.server.calendar, (207,), body, headers)

    def put_event(self, name: str, data: bytes) -> float:
        headers = {"If-None-Match": "*", "Content-Type": "text/calendar; charset=utf-8"}
        return self.timed("PUT", self.server.calendar + name, (201, 204), data, headers)[0]


# ------------------------------------------------------------------- measurements

ROWS = {
    "put": "PUT new event",
    "propfind_first": "PROPFIND calendar, cold: new process, no item cache",
    "propfind_cold": "PROPFIND calendar, restart: new process, item cache on disk",
    "propfind_warm": "PROPFIND calendar, warm",
    "multiget": "calendar-multiget 100 items",
    "sync_initial": "sync-collection, initial",
    "sync_incremental": "sync-collection, incremental (1 change)",
    "query": "calendar-query 1 month (getetag)",
    "query_expand": "calendar-query 1 month + expand",
    "get": "GET whole calendar (.ics)",
    "propfind_book": "PROPFIND address book",
}


@dataclass
class Contender:
    """A server under test with its client, its samples and what it answered."""

    server: Server
    client: Client | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    answers: dict[str, object] = field(default_factory=dict)  # this round's, per row
    etags: dict[str, str] = field(default_factory=dict)  # item name -> its PROPFIND ETag
    sync_token: str = ""
    puts: int = 0
    serves_ics: bool = True

    def record(self, row: str, milliseconds: float | None) -> None:
        if milliseconds is not None:
            self.samples.setdefault(row, []).append(milliseconds)

    def start(self) -> None:
        self.server.start()
        self.client = Client(self.server)

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        self.server.stop()


class Benchmark:
    def __init__(
        self, data: Dataset, contenders: list[Contender], repeat: int, expand: bool
    ) -> None:
        self.data = data
        self.contenders = contenders
        self.repeat = repeat
        self.expand = expand
        picked = data.events[:: max(1, len(data.events) // 100)][:100]
        self.multiget_names = [item.name for item in picked]
        self.multiget_items = frozenset((item.name, item.uid) for item in picked)
        self.contact_names = frozenset(item.name for item in data.contacts)
        self.reference = next(c for c in contenders if isinstance(c.server, Radicale))

    def order(self, turn: int) -> list[Contender]:
        return rotated(self.contenders, turn)

    # each step times one request on one server; None means "not supported"

    def step_put(self, c: Contender) -> float:
        c.puts += 1  # the same sequence of new events for every server
        uid = f"bench-new-{c.puts:06d}@murmeli.invalid"
        data = make_event(random.Random(c.puts), self.data.anchor, uid)
        return self.client_of(c).put_event(f"new-{c.puts:06d}.ics", data)

    def expected_names(self, c: Contender) -> frozenset[str]:
        """The generated events and the ones this server was sent since."""
        new = (f"new-{number:06d}.ics" for number in range(1, c.puts + 1))
        return frozenset([*(item.name for item in self.data.events), *new])

    def step_propfind_warm(self, c: Contender) -> float:
        elapsed, response = self.client_of(c).propfind(c.server.calendar)
        entries = multistatus(response.content, c.server.calendar)
        c.etags = {name: entry.etag for name, entry in entries.items()}
        c.answers["propfind_warm"] = frozenset(entries)
        verify("PROPFIND calendar", c.server.name, frozenset(entries), self.expected_names(c))
        return elapsed

    def step_multiget(self, c: Contender) -> float:
        prefix = c.server.calendar
        hrefs = "\n".join(f"<d:href>{prefix}{name}</d:href>" for name in self.multiget_names)
        elapsed, response = self.client_of(c).report(MULTIGET.format(hrefs=hrefs))
        entries = multistatus(response.content, c.server.calendar)
        for name, entry in entries.items():
            verify(f"multiget ETag of {name}", c.server.name, entry.etag, c.etags.get(name))
        c.answers["multiget"] = frozenset(
            (name, uid)
            for name, entry in entries.items()
            for uid in vevent_uids([entry.calendar_data])
        )
        verify("multiget items", c.server.name, c.answers["multiget"], self.multiget_items)
        return elapsed

    def step_sync_initial(self, c: Contender) -> float:
        elapsed, response = self.client_of(c).report(SYNC.format(token=""), depth="0")
        match = _SYNC_TOKEN.search(response.content)
        if not match:
            raise BenchError(f"{c.server.name}: no sync-token in the sync-collection answer")
        c.sync_token = match[1].decode()
        c.answers["sync_initial"] = frozenset(multistatus(response.content, c.server.calendar))
        return elapsed

    def step_sync_incremental(self, c: Contender) -> float:
        # the PUT step ran since step_sync_initial took the token
        elapsed, response = self.client_of(c).report(SYNC.format(token=c.sync_token), depth="0")
        c.answers["sync_incremental"] = frozenset(multistatus(response.content, c.server.calendar))
        return elapsed

    def step_query(self, c: Contender) -> float:
        start, end = self.data.month()
        elapsed, response = self.client_of(c).report(QUERY.format(data="", start=start, end=end))
        c.answers["query"] = frozenset(multistatus(response.content, c.server.calendar))
        return elapsed

    def step_query_expand(self, c: Contender) -> float:
        start, end = self.data.month()
        expand = EXPAND.format(start=start, end=end)
        elapsed, response = self.client_of(c).report(
            QUERY.format(data=expand, start=start, end=end)
        )
        entries = multistatus(response.content, c.server.calendar).values()
        c.answers["query_expand"] = vevent_uids(entry.calendar_data for entry in entries)
        return elapsed

    def step_get(self, c: Contender) -> float | None:
        if not c.serves_ics:
            return None
        elapsed, response = self.client_of(c).timed("GET", c.server.calendar, (200,))
        uids = vevent_uids([response.content])
        c.answers["get"] = uids
        verify("GET calendar: VEVENTs", c.server.name, uids.total(), len(self.expected_names(c)))
        return elapsed

    def step_propfind_book(self, c: Contender) -> float:
        elapsed, response = self.client_of(c).propfind(c.server.addressbook)
        names = frozenset(multistatus(response.content, c.server.addressbook))
        c.answers["propfind_book"] = names
        verify("PROPFIND address book", c.server.name, names, self.contact_names)
        return elapsed

    @staticmethod
    def client_of(c: Contender) -> Client:
        assert c.client is not None, f"{c.server.name} is not running"
        return c.client

    # the phases

    def check_loaded(self, c: Contender) -> None:
        """Each collection lists exactly the generated items (raises ``Mismatch`` if not)."""
        self.step_propfind_warm(c)
        self.step_propfind_book(c)
        response = self.client_of(c).timed("GET", c.server.calendar, (200,))[1]
        c.serves_ics = response.headers.get("Content-Type", "").startswith("text/calendar")

    def compare(self, row: str) -> None:
        """Every server's answer of this round equals Radicale's."""
        reference = self.reference.answers.get(row)
        for c in self.contenders:
            if c is not self.reference and row in c.answers:
                verify(row, c.server.name, c.answers[row], reference)

    def rounds(self) -> None:
        steps: list[tuple[str, Callable[[Contender], float | None]]] = [
            ("sync_initial", self.step_sync_initial),
            ("put", self.step_put),
            ("sync_incremental", self.step_sync_incremental),
            ("propfind_warm", self.step_propfind_warm),
            ("multiget", self.step_multiget),
            ("query", self.step_query),
            ("get", self.step_get),
            ("propfind_book", self.step_propfind_book),
        ]
        if self.expand:
            steps.insert(-2, ("query_expand", self.step_query_expand))
        for turn in range(self.repeat + 1):  # turn 0 warms up, untimed
            progress(f"round {turn}/{self.repeat}" + (" (warm-up)" if turn == 0 else ""))
            for row, step in steps:
                for c in self.order(turn):
                    c.answers.pop(row, None)
                    elapsed = step(c)
                    if turn:
                        c.record(row, elapsed)
                self.compare(row)

    def cold(self, restarts: int) -> None:
        for turn in range(restarts):
            progress(f"cold start {turn + 1}/{restarts}")
            for c in self.order(turn):
                c.stop()
                c.server.drop_item_cache()
                c.start()
                c.record("propfind_first", self.step_propfind_warm(c))
                c.stop()
                c.start()
                c.record("propfind_cold", self.step_propfind_warm(c))
            self.compare("propfind_warm")


# ------------------------------------------------------------------------- report


def median(c: Contender, row: str) -> float | None:
    values = c.samples.get(row)
    return statistics.median(values) if values else None


def table(contenders: list[Contender]) -> list[list[str]]:
    by_name = {type(c.server).__name__: c for c in contenders}
    header = ["Measurement (median ms)", *(c.server.name for c in contenders)]
    rows = [[*header, "Murmeli/Radicale"]]
    for row, label in ROWS.items():
        if not any(c.samples.get(row) for c in contenders):
            continue
        cells = [label]
        for c in contenders:
            value = median(c, row)
            cells.append("n/a" if value is None else f"{value:,.1f}")
        speed = speed_ratio(median(by_name["Radicale"], row), median(by_name["Murmeli"], row))
        ratio = "n/a"
        if speed is not None:
            ratio = f"{speed:.2f}" + (" (!)" if round(speed, 2) < 0.95 else "")
        rows.append([*cells, ratio])
    return rows


def counts(contenders: list[Contender]) -> str:
    """How much each server answered in the last round (checked equal to Radicale's)."""
    keys = ["multiget", "sync_initial", "sync_incremental", "query", "query_expand", "get"]
    lines = ["Answers, equal on every server (items, or VEVENTs for expand/GET), last round:"]
    for key in keys:
        sizes = {c.server.name: _size(c.answers[key]) for c in contenders if key in c.answers}
        if sizes:
            lines.append(f"  {key}: " + ", ".join(f"{name} {n}" for name, n in sizes.items()))
    return "\n".join(lines)


def _size(answer: object) -> int:
    return answer.total() if isinstance(answer, Counter) else len(answer)  # type: ignore[arg-type]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- main


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 events, 200 contacts, 2 rounds")
    parser.add_argument("--repeat", type=positive, help="timed rounds (default 5, quick 2)")
    parser.add_argument(
        "--cold", type=positive, help="restarts for the cold PROPFIND (default 3, quick 2)"
    )
    parser.add_argument("--events", type=positive, help="events in the calendar (default 5000)")
    parser.add_argument("--contacts", type=positive, help="contacts (default 2000)")
    parser.add_argument(
        "--expand", action="store_true", help="also time calendar-query with <expand> (slow)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 5)
    args.cold = args.cold or (2 if args.quick else 3)
    args.events = args.events or (500 if args.quick else 5000)
    args.contacts = args.contacts or (200 if args.quick else 2000)
    return args


@contextlib.contextmanager
def work_folder(keep: bool) -> Iterator[Path]:
    WORK_DIR.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="dav-", dir=WORK_DIR))
    try:
        yield root
    finally:
        if keep:
            print(f"data and server logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def prepare(root: Path, data: Dataset) -> list[Contender]:
    contenders = []
    for kind in (Radicale, Xandikos, Murmeli):
        folder = root / kind.__name__.lower()
        folder.mkdir()
        server = kind(folder)
        started = time.perf_counter()
        server.load(data)
        progress(f"{server.name}: data loaded in {time.perf_counter() - started:.1f}s")
        contenders.append(Contender(server))
    return contenders


def run(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    progress(f"generating {args.events} events and {args.contacts} contacts")
    data = make_dataset(args.events, args.contacts)
    sizes = [len(item.data) for item in data.events]
    with work_folder(args.keep) as root:
        contenders = prepare(root, data)
        bench = Benchmark(data, contenders, args.repeat, args.expand)
        try:
            for c in contenders:
                c.start()
                bench.check_loaded(c)
            bench.rounds()
            bench.cold(args.cold)
        except (BenchError, Mismatch):
            for c in contenders:
                print(f"--- {c.server.name} log:\n{c.server.log_tail()}", file=sys.stderr)
            raise
        finally:
            for c in contenders:
                c.stop()
    rows = table(contenders)
    print()
    print(
        f"{args.events} events (median {statistics.median(sizes)} B, "
        f"{sum(sizes) / 1e6:.1f} MB), {args.contacts} vCards; {args.repeat} timed rounds, "
        f"{args.cold} cold restarts; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print(plain(rows))
    print()
    print(markdown(rows))
    print()
    print(counts(contenders))
    for c in contenders:
        if c.server.note:
            print(c.server.note)
    print("Murmeli/Radicale = Radicale ms / Murmeli ms; (!) marks rows below the 0.95 target.")
    print(f"Total time: {time.perf_counter() - began:.0f}s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers get stopped
    try:
        return exit_status(lambda: run(args))
    except BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
