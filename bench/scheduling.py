"""Implicit scheduling: how long the organiser's PUT of an invitation takes.

Run ``.venv/bin/python bench/scheduling.py`` (``--quick`` for a smoke run). A
real ``murmeli serve`` with an organiser and 10 local attendees; each round the
organiser PUTs a new event inviting 50 people (the 10 local ones and 40 outside
addresses), then moves it (an update to all 50). Local attendees get their
inbox item and calendar copy inside the request; the 40 iMIP emails are only
queued (no SMTP server is configured, so none is sent during the run). The
target: the PUT answers in under 300 ms (median). Most of what remains is
Radicale's fsyncs (three synced files per stored item); on a disk shared with
other work they vary from run to run, and ``TMPDIR=/dev/shm`` shows the rest.
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
from tests.murmeli_process import MurmeliServer, clean

PASSWORD = "bench-password-1"


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


def run(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-scheduling-"))
    server = MurmeliServer(root / "data").start()
    try:
        names = ["organiser", *(f"local{n:02d}" for n in range(args.local))]
        for name in names:
            done = server.cli(
                "user", "add", name, "--password-stdin", "--email", f"{name}@example.org",
                stdin=PASSWORD + "\n",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
        attendees = [f"mailto:{name}@example.org" for name in names[1:]]
        attendees += [f"mailto:guest{n:02d}@outside.example" for n in range(args.outside)]
        created, moved = [], []
        with requests.Session() as session:
            session.auth = ("organiser", PASSWORD)
            session.request("PROPFIND", f"{server.url}/organiser/", headers={"Depth": "0"})
            start = datetime(2031, 3, 3, 9, tzinfo=UTC)
            for turn in range(args.repeat):
                uid = str(uuid.uuid4())
                url = f"{server.url}/organiser/calendar/{uid}.ics"
                organiser = "organiser@example.org"
                created.append(
                    timed_put(session, url, invitation(uid, organiser, attendees, start))
                )
                later = start + timedelta(hours=2)
                moved.append(timed_put(session, url, invitation(uid, organiser, attendees, later)))
                print(f"round {turn + 1}/{args.repeat}", file=sys.stderr)
    finally:
        server.stop()
        clean(root)
    print(
        f"\nOrganiser PUT inviting {args.local + args.outside} attendees "
        f"({args.local} local, {args.outside} outside); {args.repeat} rounds"
    )
    print("| Measurement (median ms) | ms |\n|:---|---:|")
    print(f"| new invitation | {statistics.median(created):,.1f} |")
    print(f"| update (moved: REQUEST, SEQUENCE bumped) | {statistics.median(moved):,.1f} |")
    print(f"\nnew invitation PUT: {statistics.median(created):.1f} ms (target < 300 ms)")


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
