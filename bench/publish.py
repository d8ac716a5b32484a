"""Public-feed benchmark: a published 5,000-event calendar, polled as subscribers poll it.

Run ``.venv/bin/python bench/publish.py`` (``--seconds`` per measurement, default 3).
The script

1. generates the calendar of ``bench/dav.py`` (5,000 events, same seed);
2. loads it into stock Radicale 3.9 with its own token sharing
   (``[sharing] type = csv``, ``collection_by_token = True``,
   ``permit_create_token = True``; the token made through its API,
   ``POST /.sharing/v1/token/create``) and into Murmeli (published with
   ``murmeli publish on``); both fetch the same data from the same layout;
3. checks that both feeds hold all 5,000 events;
4. measures requests per second, sequentially on one keep-alive ``requests``
   session per server (Radicale's built-in server closes every connection, so its
   figures include a new connection each time), after untimed warm-up requests
   (Radicale fills its item cache, Murmeli renders its feed):

   * full GET accepting gzip (what subscribing apps send), and without gzip;
   * conditional GET with the ETag of the previous answer (``If-None-Match``):
     Murmeli answers 304; stock Radicale never does and sends the whole calendar
     again, which the table shows in its status column.

Each row runs for ``--seconds`` (at least 5 requests), the servers taking turns.
"Murmeli/Radicale" is Murmeli's requests/s over Radicale's (targets: >= 1 on full
GET, >= 20 on the conditional GET).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.dav import (
    PASSWORD,
    USER,
    WORK_DIR,
    BenchError,
    Murmeli,
    Radicale,
    Server,
    make_dataset,
    run_murmeli,
    version,
)
from bench.report import plain

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
    rates: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    etag: str = ""
    size: str = ""

    def get(self, headers: dict[str, str], conditional: bool) -> requests.Response:
        if conditional:
            headers = {**headers, "If-None-Match": self.etag}
        answer = self.session.get(self.server.url + self.path, headers=headers)
        if answer.status_code not in (200, 304):
            raise BenchError(f"{self.server.name}: {answer.status_code} {answer.text[:200]}")
        self.etag = answer.headers.get("ETag", self.etag)
        return answer


def measure(contenders: list[Contender], seconds: float) -> None:
    for row, headers, conditional in ROWS:
        for contender in contenders:
            contender.get(headers, conditional)  # warm-up, and the ETag to send back
        spent = {id(c): 0.0 for c in contenders}
        done = {id(c): 0 for c in contenders}
        while any(spent[id(c)] < seconds or done[id(c)] < 5 for c in contenders):
            for contender in contenders:
                if spent[id(contender)] >= seconds and done[id(contender)] >= 5:
                    continue
                started = time.perf_counter()
                answer = contender.get(headers, conditional)
                _ = answer.content
                spent[id(contender)] += time.perf_counter() - started
                done[id(contender)] += 1
                contender.statuses.setdefault(row, set()).add(answer.status_code)
        for contender in contenders:
            contender.rates[row] = done[id(contender)] / spent[id(contender)]


def check(contender: Contender) -> None:
    answer = contender.get({"Accept-Encoding": "gzip"}, False)
    body = answer.text
    compressed = answer.headers.get("Content-Length", "?")
    contender.size = f"{len(answer.content):,} bytes, {compressed} gzipped"
    found = body.count("BEGIN:VEVENT")
    if found != EVENTS or "bench-event-004999@" not in body:
        raise BenchError(f"{contender.server.name} feed holds {found} events, not {EVENTS}")


def table(radicale: Contender, murmeli: Contender) -> str:
    rows = [("request", radicale.server.name, "Murmeli", "Murmeli/Radicale")]
    for row, _, _ in ROWS:
        cells = []
        for contender in (radicale, murmeli):
            statuses = "/".join(str(s) for s in sorted(contender.statuses[row]))
            cells.append(f"{contender.rates[row]:8.1f} req/s ({statuses})")
        ratio = murmeli.rates[row] / radicale.rates[row]
        rows.append((row, *cells, f"{ratio:.1f}x"))
    return plain(rows)


def run(args: argparse.Namespace) -> None:
    WORK_DIR.mkdir(exist_ok=True)
    data = make_dataset(EVENTS, 0)
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
                check(contender)
            measure(contenders, args.seconds)
        finally:
            for server in servers:
                server.stop()
    print(f"{EVENTS} events, {args.seconds:g} s per measurement, sequential keep-alive requests")
    for contender in contenders:
        print(f"{contender.server.name}: feed of {contender.size}")
    print(table(*contenders))
    if 304 not in contenders[0].statuses[ROWS[2][0]]:
        print("Stock Radicale has no conditional GET: it answers If-None-Match with 200 and")
        print("the whole calendar, so its row measures a full GET sent with a validator.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    try:
        run(parser.parse_args(argv))
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
