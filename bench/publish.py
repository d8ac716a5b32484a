"""Public-feed benchmark: a published 5,000-event calendar, polled as subscribers poll it.

Run ``.venv/bin/python bench/publish.py`` (``--seconds`` per measurement, default 3;
``--quick``: 500 events, 0.5 s). The script

1. generates the calendar of ``bench/dav.py`` (5,000 events, same seed);
2. loads it into stock Radicale 3.9 with its own token sharing
   (``[sharing] type = csv``, ``collection_by_token = True``,
   ``permit_create_token = True``; the token made through its API,
   ``POST /.sharing/v1/token/create``) and into Murmeli (published with
   ``murmeli publish on``); both fetch the same data from the same layout;
3. checks that both feeds hold every event of the data set, each once (by UID),
   and that every later full answer is the same feed again (a difference ends
   the run with exit status 1 and no table);
4. measures requests per second, sequentially on one keep-alive ``requests``
   session per server (Radicale's built-in server closes every connection, so its
   figures include a new connection each time), after untimed warm-up requests
   (Radicale fills its item cache, Murmeli renders its feed):

   * full GET accepting gzip (what subscribing apps send), and without gzip;
   * conditional GET with the ETag of the previous answer (``If-None-Match``):
     Murmeli answers 304; stock Radicale never does and sends the whole calendar
     again, which the table shows in its status column.

Each row runs for ``--seconds`` (at least 5 requests), the servers taking turns;
requests/s is one over the median request time. "Murmeli/Radicale" is Radicale's
median time over Murmeli's, as in every benchmark (higher = Murmeli faster;
targets: >= 1 on full GET, >= 20 on the conditional GET).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.answers import vevent_uids
from bench.dav import (
    PASSWORD,
    USER,
    WORK_DIR,
    BenchError,
    Dataset,
    Murmeli,
    Radicale,
    Server,
    make_dataset,
    run_murmeli,
    version,
)
from bench.report import exit_status, plain, speed_ratio, verify

EVENTS = 5000
ROWS = (
    ("full GET (gzip)", {"Accept-Encoding": "gzip"}, False),
    ("full GET (identity)", {"Accept-Encoding": "identity"}, False),
    ("conditional GET (If-None-Match)", {"Accept-Encoding": "gzip"}, True),
)


@dataclass
class RadicaleWithToken(Radicale):
    name: str = f"Radicale {version('radicale')} token share"

    def command(self) -> list[str]:
        command = super().command()
        config = self.root / "config"
        config.write_text(
            config.read_text() + "\n[sharing]\ntype = csv\n"
            f"database_path = {self.root / 'sharing.csv'}\n"
            "collection_by_token = True\npermit_create_token = True\n"
        )
        return command

    def publish(self) -> str:
        answer = requests.post(
            self.url + "/.sharing/v1/token/create",
            json={"PathMapped": self.calendar, "Enabled": True, "Hidden": False},
            headers={"Accept": "application/json"},
            auth=(USER, PASSWORD),
        )
        if answer.status_code != 200 or answer.json().get("Status") != "success":
            raise BenchError(f"Radicale token/create: {answer.status_code} {answer.text[:300]}")
        return answer.json()["PathOrToken"]


@dataclass
class PublishedMurmeli(Murmeli):
    name: str = "Murmeli"

    def publish(self) -> str:
        printed = run_murmeli(self.root / "data", "publish", "on", self.calendar)
        return urlsplit(printed.splitlines()[-1]).path


@dataclass
class Contender:
    server: Server
    path: str = ""
    session: requests.Session = field(default_factory=requests.Session)
    times: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    etag: str = ""
    size: str = ""
    feed: str = ""  # digest of the decoded feed first checked

    def median(self, row: str) -> float:
        return statistics.median(self.times[row])

    def get(self, headers: dict[str, str], conditional: bool) -> requests.Response:
        if conditional:
            headers = {**headers, "If-None-Match": self.etag}
        answer = self.session.get(self.server.url + self.path, headers=headers)
        if answer.status_code not in (200, 304):
            raise BenchError(f"{self.server.name}: {answer.status_code} {answer.text[:200]}")
        self.etag = answer.headers.get("ETag", self.etag)
        if answer.status_code == 200 and self.feed:
            digest = hashlib.sha256(answer.content).hexdigest()
            verify("feed", self.server.name, digest, self.feed)
        return answer


def measure(contenders: list[Contender], seconds: float) -> None:
    for row, headers, conditional in ROWS:
        for contender in contenders:
            contender.get(headers, conditional)  # warm-up, and the ETag to send back
        for contender in contenders:
            contender.times[row] = []

        def more(c: Contender, row: str = row) -> bool:
            return sum(c.times[row]) < seconds or len(c.times[row]) < 5

        while any(more(c) for c in contenders):
            for contender in filter(more, contenders):
                started = time.perf_counter()
                answer = contender.get(headers, conditional)
                contender.times[row].append(time.perf_counter() - started)
                contender.statuses.setdefault(row, set()).add(answer.status_code)


def check(contender: Contender, data: Dataset) -> None:
    """The feed holds every event once; later answers are compared with this one."""
    answer = contender.get({"Accept-Encoding": "gzip"}, False)
    compressed = answer.headers.get("Content-Length", "?")
    contender.size = f"{len(answer.content):,} bytes, {compressed} gzipped"
    expected = Counter(item.uid for item in data.events)
    verify("feed's events", contender.server.name, vevent_uids([answer.content]), expected)
    contender.feed = hashlib.sha256(answer.content).hexdigest()


def table(radicale: Contender, murmeli: Contender) -> str:
    rows = [("request", radicale.server.name, "Murmeli", "Murmeli/Radicale")]
    for row, _, _ in ROWS:
        cells = []
        for contender in (radicale, murmeli):
            statuses = "/".join(str(s) for s in sorted(contender.statuses[row]))
            cells.append(f"{1 / contender.median(row):8.1f} req/s ({statuses})")
        ratio = speed_ratio(radicale.median(row), murmeli.median(row))
        rows.append((row, *cells, f"{ratio:.1f}x"))
    return plain(rows)


def run(args: argparse.Namespace) -> None:
    WORK_DIR.mkdir(exist_ok=True)
    data = make_dataset(args.events, 0)
    with tempfile.TemporaryDirectory(dir=WORK_DIR, prefix="publish-") as folder:
        root = Path(folder)
        servers: list[Server] = [
            RadicaleWithToken(root / "radicale"),
            PublishedMurmeli(root / "murmeli"),
        ]
        contenders = []
        try:
            for server in servers:
                server.root.mkdir()
                server.load(data)
                server.start()
                contenders.append(Contender(server, server.publish()))
            for contender in contenders:
                check(contender, data)
            measure(contenders, args.seconds)
        finally:
            for server in servers:
                server.stop()
    print(
        f"{args.events} events, {args.seconds:g} s per measurement, sequential keep-alive"
        " requests; req/s = 1 / median request time"
    )
    for contender in contenders:
        print(f"{contender.server.name}: feed of {contender.size}")
    print(table(*contenders))
    if 304 not in contenders[0].statuses[ROWS[2][0]]:
        print("Stock Radicale has no conditional GET: it answers If-None-Match with 200 and")
        print("the whole calendar, so its row measures a full GET sent with a validator.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, help="time per measurement (default 3)")
    parser.add_argument("--quick", action="store_true", help="500 events, 0.5 s per row")
    args = parser.parse_args(argv)
    args.events = 500 if args.quick else EVENTS
    args.seconds = args.seconds or (0.5 if args.quick else 3.0)
    try:
        return exit_status(lambda: run(args))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
