"""Implicit scheduling: how long the organiser's PUT of an invitation takes.

Run ``.venv/bin/python bench/scheduling.py`` (``--quick`` for a smoke run). A
real ``murmeli serve`` with an organiser and 10 local attendees; each round the
organiser PUTs a new event inviting 50 people (the 10 local ones and 40 outside
addresses), then moves it (an update to all 50). Local attendees get their
inbox item and calendar copy inside the request; the 40 iMIP emails are only
queued (no SMTP server is configured, so none is sent during the run). The
target: the PUT answers in under 300 ms (median). The peer, in the same run and
round by round (the order rotated each round): stock Radicale (the version
Murmeli composes, which does no scheduling) storing the same events, so the
ratio "Murmeli/Radicale", Radicale ms / Murmeli ms as in every benchmark (higher = Murmeli faster),
is what scheduling costs: mostly Radicale's fsyncs of the 20 local items (three
synced files each), which vary with the disk's other work; ``TMPDIR=/dev/shm``
shows the rest.

After the rounds the answers are checked, and a difference ends the run with
exit status 1 and no table: both organisers' calendars hold every event, moved;
every local attendee's calendar holds every event, moved (the scheduled copies);
every outside attendee has two iMIP REQUESTs queued per round.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answers import event_starts
from bench.dav import PASSWORD, USER, Radicale
from bench.report import exit_status, print_report, rotated, speed_ratio, verify
from tests.murmeli_process import MurmeliServer, clean

TARGET_MS = 300
START = datetime(2031, 3, 3, 9, tzinfo=UTC)
MOVED = START + timedelta(hours=2)


def invitation(uid: str, organiser: str, attendees: list[str], start: datetime) -> bytes:
    lines = "".join(f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{a}\r\n" for a in attendees)
    end = start + timedelta(hours=1)
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\n"
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDTEND:{end:%Y%m%dT%H%M%SZ}\r\n"
        f"SUMMARY:All hands\r\nLOCATION:Hall\r\nORGANIZER:mailto:{organiser}\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organiser}\r\n{lines}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def timed_put(session: requests.Session, url: str, body: bytes) -> float:
    began = time.perf_counter()
    answer = session.put(url, data=body, headers={"Content-Type": "text/calendar"}, timeout=60)
    elapsed = (time.perf_counter() - began) * 1000
    if answer.status_code not in (201, 204):
        raise RuntimeError(f"PUT answered {answer.status_code}: {answer.text}")
    return elapsed


@dataclass
class Contender:
    """A server with an organiser's session; the times of its two PUTs, round by round."""

    name: str
    url: str
    session: requests.Session
    organiser: str
    created: list[float] = field(default_factory=list)
    moved: list[float] = field(default_factory=list)

    @property
    def calendar(self) -> str:
        return f"{self.url}/{self.organiser}/calendar/"

    def round(self, uid: str, attendees: list[str]) -> None:
        """A new invitation, then the same moved by two hours."""
        url, address = f"{self.calendar}{uid}.ics", f"{self.organiser}@example.org"
        for times, start in ((self.created, START), (self.moved, MOVED)):
            times.append(timed_put(self.session, url, invitation(uid, address, attendees, start)))


def rounds(contenders: list[Contender], attendees: list[str], repeat: int) -> list[str]:
    """Each round every contender in turn, the order rotated; the UIDs sent."""
    uids = []
    for turn in range(repeat):
        uid = str(uuid.uuid4())
        for contender in rotated(contenders, turn):
            contender.round(uid, attendees)
        uids.append(uid)
        print(f"round {turn + 1}/{repeat}", file=sys.stderr)
    return uids


def stored_starts(session: requests.Session, calendar: str) -> dict[str, datetime]:
    """UID -> DTSTART of every event in a calendar, read as a client would (GET)."""
    answer = session.get(calendar, timeout=60)
    answer.raise_for_status()
    return event_starts(answer.content)


def check_stored(contender: Contender, uids: list[str]) -> None:
    """The organiser's calendar holds every invitation, moved."""
    starts = stored_starts(contender.session, contender.calendar)
    verify("organiser's events", contender.name, starts, dict.fromkeys(uids, MOVED))


def check_scheduled(server: MurmeliServer, args: argparse.Namespace, uids: list[str]) -> None:
    """What makes Murmeli's PUT slower than a store: each local attendee's calendar has
    every invitation, moved, and every outside attendee has both iMIP REQUESTs queued."""
    expected = dict.fromkeys(uids, MOVED)
    for name in local_names(args):
        with requests.Session() as session:
            session.auth = (name, PASSWORD)
            found = stored_starts(session, f"{server.url}/{name}/calendar/")
        verify(f"{name}'s scheduled copies", "Murmeli", found, expected)
    with sqlite3.connect(server.data / "murmeli.sqlite3") as database:
        queued = Counter(
            dict(
                database.execute(
                    "SELECT recipient, COUNT(*) FROM scheduling_mail WHERE kind = 'REQUEST'"
                    " GROUP BY recipient"
                ).fetchall()
            )
        )
    outside = {address.removeprefix("mailto:"): 2 * len(uids) for address in attendees(args)}
    for name in local_names(args):
        outside.pop(f"{name}@example.org")
    verify("queued iMIP REQUESTs", "Murmeli", queued, Counter(outside))


def start_murmeli(root: Path, args: argparse.Namespace) -> MurmeliServer:
    server = MurmeliServer(root / "data").start()
    for name in ["organiser", *local_names(args)]:
        done = server.cli(
            "user", "add", name, "--password-stdin", "--email", f"{name}@example.org",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return server


def start_radicale(root: Path) -> Radicale:
    radicale = Radicale(root)
    root.mkdir()
    (root / "users").write_text(f"{USER}:{PASSWORD}\n")
    radicale.start()
    return radicale


def local_names(args: argparse.Namespace) -> list[str]:
    return [f"local{n:02d}" for n in range(args.local)]


def attendees(args: argparse.Namespace) -> list[str]:
    local = [f"mailto:{name}@example.org" for name in local_names(args)]
    return local + [f"mailto:guest{n:02d}@outside.example" for n in range(args.outside)]


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-scheduling-"))
    murmeli = radicale = None
    try:
        murmeli = start_murmeli(root / "murmeli", args)
        radicale = start_radicale(root / "radicale")
        with requests.Session() as to_murmeli, requests.Session() as to_radicale:
            to_murmeli.auth = ("organiser", PASSWORD)
            to_murmeli.request("PROPFIND", f"{murmeli.url}/organiser/", headers={"Depth": "0"})
            to_radicale.auth = (USER, PASSWORD)
            peer = Contender(Radicale.name, radicale.url, to_radicale, USER)
            made = to_radicale.request("MKCALENDAR", peer.calendar, timeout=30)
            if made.status_code != 201:
                raise RuntimeError(f"MKCALENDAR answered {made.status_code}: {made.text}")
            ours = Contender("Murmeli", murmeli.url, to_murmeli, "organiser")
            uids = rounds([ours, peer], attendees(args), args.repeat)
            for contender in (ours, peer):
                check_stored(contender, uids)
            check_scheduled(murmeli, args, uids)
    finally:
        if radicale is not None:
            radicale.stop()
        if murmeli is not None:
            murmeli.stop()
        clean(root)
    rows = [["Measurement (median ms)", Radicale.name, "Murmeli", "Murmeli/Radicale"]]
    for label, mine, theirs in (
        ("new invitation", ours.created, peer.created),
        ("update (moved: REQUEST, SEQUENCE bumped)", ours.moved, peer.moved),
    ):
        ours_ms, theirs_ms = statistics.median(mine), statistics.median(theirs)
        ratio = speed_ratio(theirs_ms, ours_ms)
        rows.append([label, f"{theirs_ms:,.1f}", f"{ours_ms:,.1f}", f"{ratio:.2f}"])
    created = statistics.median(ours.created)
    verdict = "met" if created < TARGET_MS else "MISSED"
    print_report(
        f"Organiser PUT inviting {args.local + args.outside} attendees ({args.local} local, "
        f"{args.outside} outside), {args.repeat} rounds; Radicale stores, Murmeli also schedules",
        rows,
        [
            f"new invitation PUT: {created:.1f} ms (target < {TARGET_MS} ms: {verdict})",
            "Murmeli/Radicale = Radicale ms / Murmeli ms (higher = Murmeli faster): below 1,"
            " what scheduling costs.",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", type=int, default=10)
    parser.add_argument("--outside", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 3
    return exit_status(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
