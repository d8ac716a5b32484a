"""Availability lookup: Murmeli's one request against the per-calendar free-busy REPORTs a client
would send to stock Radicale 3.9 for the same answer.

Run ``.venv/bin/python bench/availability.py`` (``--quick`` for a smoke run). It
generates 10 attendees x 3,000 events (a third weekly recurring, the generator
of ``bench/dav.py``), loads the same files into stock Radicale (``authenticated``
rights, so one login may read every calendar) and Murmeli (every attendee a
collaborator, so the organiser sees their free/busy), and measures over a
2-week window:

* Murmeli: ``POST /api/availability`` for the 10 attendees: the *cold* answer
  (first lookup of a new process: every calendar parsed into the busy index)
  and the *warm* answer (median);
* Murmeli: the CalDAV scheduling route, ``POST`` of a VFREEBUSY REQUEST for the
  10 attendees to the organiser's schedule outbox (RFC 6638), as Apple Calendar
  and Thunderbird send it to fill their availability grid (median, warm; target
  < 150 ms);
* Radicale: one ``free-busy-query`` REPORT per attendee calendar, in sequence,
  as a client would (median of the total); the client would still have to merge
  the answers and search the slot, which is not counted.

The three take turns round by round (the order rotated each round). Every answer,
cold ones included, is checked against Radicale's: each attendee's busy time (as
merged UTC intervals within the window) must be equal in the JSON answer, in the
outbox's VFREEBUSY and in Radicale's REPORTs; a difference ends the run with exit
status 1 and no table.

The target: a warm answer under 100 ms and >= 5x faster than the REPORT route
(the speed-up: REPORT ms / Murmeli ms, higher = Murmeli faster, as in every bench).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from defusedxml import ElementTree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import answers, dav
from bench.report import exit_status, markdown, rotated, speed_ratio, verify

PASSWORD = "bench-password-1"
ORGANISER = "organiser"


def attendees(count: int) -> list[str]:
    return [f"attendee{number:02d}" for number in range(count)]


def write_calendars(collections: Path, names: list[str], events: int, anchor: dt.datetime) -> None:
    for index, name in enumerate([ORGANISER, *names]):
        rng = random.Random(dav.SEED + index)
        folder = collections / "collection-root" / name / "calendar"
        items = [
            dav.Item(
                f"e{n:05d}.ics", f"{name}-{n}", dav.make_event(rng, anchor, f"{name}-{n}", 1 / 3)
            )
            for n in range(events if name != ORGANISER else 0)
        ]
        dav.write_items(folder, items)
        (folder / ".Radicale.props").write_text(
            '{"tag": "VCALENDAR", "C:supported-calendar-component-set": "VEVENT"}'
        )


@dataclass
class StockRadicale(dav.Server):
    name: str = f"Radicale {dav.version('radicale')}"
    names: tuple[str, ...] = ()

    def command(self) -> list[str]:
        (self.root / "users").write_text(
            "".join(f"{name}:{PASSWORD}\n" for name in (ORGANISER, *self.names))
        )
        config = self.root / "config"
        config.write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {self.root / 'users'}\n"
            "htpasswd_encryption = plain\n\n[rights]\ntype = authenticated\n\n"
            f"[storage]\nfilesystem_folder = {self.root / 'collections'}\n"
        )
        return [sys.executable, "-m", "radicale", "--config", str(config)]


@dataclass
class Murmeli(dav.Server):
    name: str = "Murmeli"
    names: tuple[str, ...] = ()

    def prepare_users(self) -> None:
        for name in (ORGANISER, *self.names):
            dav.run_murmeli(
                self.root / "data", "user", "add", name, "--password-stdin", stdin=PASSWORD + "\n"
            )

    def command(self) -> list[str]:
        listen, data = f"127.0.0.1:{self.port}", str(self.root / "data")
        return [dav.executable("murmeli"), "serve", "--listen", listen, "--data", data]


def freebusy_query(start: dt.datetime, end: dt.datetime) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f'<C:time-range start="{dav._utc(start)}" end="{dav._utc(end)}"/></C:free-busy-query>'
    )


Busy = dict[str, tuple[answers.Interval, ...]]  # attendee -> merged UTC intervals


def timed(call: Callable[[], Busy]) -> tuple[float, Busy]:
    began = time.perf_counter()
    busy = call()
    return (time.perf_counter() - began) * 1000, busy


def lookup(
    session: requests.Session, url: str, names: list[str], start: dt.datetime,
    window: answers.Interval,
) -> Busy:  # fmt: skip
    body = {
        "attendees": names,
        "start": start.isoformat(),
        "duration": 60,
        "window": "7d",
        "timezone": "UTC",
    }
    answer = session.post(f"{url}/api/availability", json=body, timeout=300)
    answer.raise_for_status()
    found = answer.json()
    verify("unknown attendees", "Murmeli /api/availability", found["unknown"], [])
    bounds = tuple(dt.datetime.fromisoformat(found["window"][end]) for end in ("start", "end"))
    verify("window", "Murmeli /api/availability", bounds, window)
    busy = found["busy"].items()
    return {name: answers.merged(map(_period, periods), window) for name, periods in busy}


def _period(period: dict[str, str]) -> answers.Interval:
    return dt.datetime.fromisoformat(period["start"]), dt.datetime.fromisoformat(period["end"])


def outbox_freebusy(
    session: requests.Session, url: str, names: list[str], window: answers.Interval
) -> Busy:
    lines = "".join(f"ATTENDEE:/{name}/\r\n" for name in names)
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VFREEBUSY\r\nUID:bench\r\nDTSTAMP:20300101T000000Z\r\n"
        f"DTSTART:{dav._utc(window[0])}\r\nDTEND:{dav._utc(window[1])}\r\n"
        f"ORGANIZER:/{ORGANISER}/\r\n{lines}END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    answer = session.post(
        f"{url}/{ORGANISER}/schedule-outbox/",
        data=body.encode(),
        headers={"Content-Type": "text/calendar"},
        timeout=300,
    )
    answer.raise_for_status()
    busy = {}
    for response in ElementTree.fromstring(answer.content).iter(f"{answers.CALDAV}response"):
        name = response.findtext(f"{answers.CALDAV}recipient/{answers.DAV}href", "").strip("/")
        status = response.findtext(f"{answers.CALDAV}request-status", "")
        verify(f"request-status for {name}", "Murmeli outbox", status[:3], "2.0")
        data = response.findtext(f"{answers.CALDAV}calendar-data", "")
        busy[name] = answers.merged(answers.freebusy_periods(data), window)
    return busy


def reports(
    session: requests.Session, url: str, names: list[str], window: answers.Interval
) -> Busy:
    body = freebusy_query(*window)
    busy = {}
    for name in names:
        answer = session.request(
            "REPORT", f"{url}/{name}/calendar/", data=body, headers={"Depth": "1"}, timeout=300
        )
        answer.raise_for_status()
        busy[name] = answers.merged(answers.freebusy_periods(answer.content), window)
    return busy


def compare(contender: str, busy: Busy, reference: Busy) -> None:
    """Murmeli's busy time equals Radicale's, attendee by attendee (the lookup also
    answers for the organiser, whose calendar is empty)."""
    verify("attendees answered", contender, set(busy) - {ORGANISER}, set(reference))
    verify("busy periods of the organiser", contender, busy.get(ORGANISER, ()), ())
    for name, periods in reference.items():
        verify(f"busy periods of {name}", contender, busy[name], periods)


def run(args: argparse.Namespace) -> None:
    names = attendees(args.attendees)
    anchor = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    desired = anchor + dt.timedelta(days=10, hours=11, minutes=45)
    window = (desired - dt.timedelta(days=7), desired + dt.timedelta(days=7))
    with dav.work_folder(args.keep) as root:
        stock = StockRadicale(root / "radicale", names=tuple(names))
        murmeli = Murmeli(root / "murmeli", names=tuple(names))
        dav.progress(f"writing {args.attendees} x {args.events} events twice")
        write_calendars(root / "radicale" / "collections", names, args.events, anchor)
        write_calendars(root / "murmeli" / "data" / "collections", names, args.events, anchor)
        murmeli.prepare_users()
        results: dict[str, list[float]] = {"cold": [], "warm": [], "outbox": [], "reports": []}
        try:
            for server in (stock, murmeli):
                server.start()
            with requests.Session() as to_stock, requests.Session() as to_murmeli:
                to_stock.auth = to_murmeli.auth = (ORGANISER, PASSWORD)
                calls: dict[str, Callable[[], Busy]] = {
                    "warm": lambda: lookup(to_murmeli, murmeli.url, names, desired, window),
                    "outbox": lambda: outbox_freebusy(to_murmeli, murmeli.url, names, window),
                    "reports": lambda: reports(to_stock, stock.url, names, window),
                }
                dav.progress("Radicale builds its item cache (untimed)")
                reference = calls["reports"]()
                if not any(reference.values()):
                    raise dav.BenchError("Radicale reports no busy time: nothing to compare")
                for turn in range(args.cold):
                    dav.progress(f"Murmeli cold lookup {turn + 1}/{args.cold}")
                    murmeli.stop()
                    murmeli.start()
                    elapsed, busy = timed(calls["warm"])
                    compare("Murmeli /api/availability, cold", busy, reference)
                    results["cold"].append(elapsed)
                for turn in range(args.repeat):
                    dav.progress(f"round {turn + 1}/{args.repeat}")
                    for row in rotated(list(calls), turn):
                        elapsed, busy = timed(calls[row])
                        compare(f"{row} answer", busy, reference)
                        results[row].append(elapsed)
        finally:
            for server in (stock, murmeli):
                server.stop()
    report(args, {row: statistics.median(values) for row, values in results.items()})


def report(args: argparse.Namespace, medians: dict[str, float]) -> None:
    rows = [
        ("Measurement (median ms)", "ms"),
        ("Murmeli POST /api/availability, warm", f"{medians['warm']:,.1f}"),
        ("Murmeli POST /api/availability, cold (new process)", f"{medians['cold']:,.1f}"),
        ("Murmeli schedule-outbox free-busy POST, warm", f"{medians['outbox']:,.1f}"),
        (f"Radicale: {args.attendees} free-busy REPORTs", f"{medians['reports']:,.1f}"),
    ]
    print(
        f"\n{args.attendees} attendees x {args.events} events (a third weekly recurring), "
        f"2-week window; {args.repeat} rounds, {args.cold} cold starts"
    )
    print(markdown(rows))
    print(f"\nwarm answer: {medians['warm']:.1f} ms (target < 100 ms)")
    print(f"outbox free-busy POST: {medians['outbox']:.1f} ms (target < 150 ms)")
    speed_up = speed_ratio(medians["reports"], medians["warm"])
    print(f"speed-up over the REPORT route: {speed_up:.1f}x (target >= 5x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=dav.positive, default=10)
    parser.add_argument("--events", type=dav.positive, default=3000)
    parser.add_argument("--repeat", type=dav.positive, default=10)
    parser.add_argument("--cold", type=dav.positive, default=3)
    parser.add_argument("--quick", action="store_true", help="3 x 300 events, 3 rounds")
    parser.add_argument("--keep", action="store_true", help="keep data and logs")
    args = parser.parse_args(argv)
    if args.quick:
        args.attendees, args.events, args.repeat, args.cold = 3, 300, 3, 1
    try:
        return exit_status(lambda: run(args))
    except dav.BenchError as error:
        print(f"bench failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
