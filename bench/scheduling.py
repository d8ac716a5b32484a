"""Implicit scheduling: how long the organiser's PUT of an invitation takes.

Run ``.venv/bin/python bench/scheduling.py`` (``--quick`` for a smoke run). A
real ``murmeli serve`` with an organiser and 10 local attendees; each round the
organiser PUTs a new event inviting 50 people (the 10 local ones and 40 outside
addresses), then moves it (an update to all 50). Local attendees get their
inbox item and calendar copy inside the request; the 40 iMIP emails are only
queued (no SMTP server is configured, so none is sent during the run). The
target: the PUT answers in under 300 ms (median). The peer, in the same run:
stock Radicale (the version Murmeli composes, which does no scheduling) storing
the same events, so the ratio is what scheduling costs: mostly Radicale's fsyncs
of the 20 local items (three synced files each), which vary with the disk's
other work; ``TMPDIR=/dev/shm`` shows the rest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.dav import PASSWORD, USER, Radicale
from bench.report import print_report
from tests.murmeli_process import MurmeliServer, clean

TARGET_MS = 300


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


def rounds(
    session: requests.Session, calendar: str, organiser: str, attendees: list[str], repeat: int
) -> tuple[list[float], list[float]]:
    """Each round a new invitation, then the same moved by two hours: the two PUT times."""
    created, moved = [], []
    start = datetime(2031, 3, 3, 9, tzinfo=UTC)
    for turn in range(repeat):
        uid = str(uuid.uuid4())
        url = f"{calendar}{uid}.ics"
        created.append(timed_put(session, url, invitation(uid, organiser, attendees, start)))
        later = start + timedelta(hours=2)
        moved.append(timed_put(session, url, invitation(uid, organiser, attendees, later)))
        print(f"round {turn + 1}/{repeat}", file=sys.stderr)
    return created, moved


def murmeli_rounds(root: Path, args: argparse.Namespace) -> tuple[list[float], list[float]]:
    server = MurmeliServer(root / "data").start()
    try:
        names = ["organiser", *(f"local{n:02d}" for n in range(args.local))]
        for name in names:
            done = server.cli(
                "user", "add", name, "--password-stdin", "--email", f"{name}@example.org",
                stdin=PASSWORD + "\n",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        with requests.Session() as session:
            session.auth = ("organiser", PASSWORD)
            session.request("PROPFIND", f"{server.url}/organiser/", headers={"Depth": "0"})
            calendar = f"{server.url}/organiser/calendar/"
            return rounds(session, calendar, "organiser@example.org", attendees(args), args.repeat)
    finally:
        server.stop()


def radicale_rounds(root: Path, args: argparse.Namespace) -> tuple[list[float], list[float]]:
    radicale = Radicale(root)
    root.mkdir()
    (root / "users").write_text(f"{USER}:{PASSWORD}\n")
    radicale.start()
    try:
        with requests.Session() as session:
            session.auth = (USER, PASSWORD)
            calendar = f"{radicale.url}/{USER}/calendar/"
            made = session.request("MKCALENDAR", calendar, timeout=30)
            if made.status_code != 201:
                raise RuntimeError(f"MKCALENDAR answered {made.status_code}: {made.text}")
            return rounds(session, calendar, f"{USER}@example.org", attendees(args), args.repeat)
    finally:
        radicale.stop()


def attendees(args: argparse.Namespace) -> list[str]:
    local = [f"mailto:local{n:02d}@example.org" for n in range(args.local)]
    return local + [f"mailto:guest{n:02d}@outside.example" for n in range(args.outside)]


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-scheduling-"))
    try:
        ours = murmeli_rounds(root / "murmeli", args)
        theirs = radicale_rounds(root / "radicale", args)
    finally:
        clean(root)
    rows = [["Measurement (median ms)", Radicale.name, "Murmeli", "Murmeli/Radicale"]]
    for label, mine, peer in (
        ("new invitation", ours[0], theirs[0]),
        ("update (moved: REQUEST, SEQUENCE bumped)", ours[1], theirs[1]),
    ):
        ours_ms, theirs_ms = statistics.median(mine), statistics.median(peer)
        rows.append([label, f"{theirs_ms:,.1f}", f"{ours_ms:,.1f}", f"{ours_ms / theirs_ms:.2f}"])
    created = statistics.median(ours[0])
    verdict = "met" if created < TARGET_MS else "MISSED"
    print_report(
        f"Organiser PUT inviting {args.local + args.outside} attendees ({args.local} local, "
        f"{args.outside} outside), {args.repeat} rounds; Radicale stores, Murmeli also schedules",
        rows,
        [f"new invitation PUT: {created:.1f} ms (target < {TARGET_MS} ms: {verdict})"],
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
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
