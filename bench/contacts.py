"""Contacts benchmark: importing a large Google CSV (and, beside it, duplicate detection).

Run ``.venv/bin/python bench/contacts.py``. Sections run in order, each a
function taking the parsed arguments:

* ``bench_import``: generates a 10,000-line Google Contacts CSV (current
  header, two emails, two phones, an address, an organisation per contact),
  then runs ``murmeli contacts import FILE --addressbook /bench/imported/
  --new-addressbook Imported`` in a fresh data folder, timed end to end
  (process start included); then checks every card was stored and that a
  CardDAV client would see them (sync state). Target: under 5 s.
* ``bench_dedup``: address books of 5,000, 10,000 and 20,000 cards, 10% of
  them duplicates made three ways in turn (the same email in other letter
  case, the phone number in national form, the name in the other order with
  the same organisation); names come from short lists, so many different
  people share a name (near misses that must stay apart). Times reading the
  cards plus the pure matcher (target under 2 s at 20,000, growth ratios
  t20k/t10k and t10k/t5k about 2 for linear), checks every planted group is
  found and nothing else, then times ``murmeli contacts duplicates
  /bench/contacts/ --json`` end to end (a new process: start-up, Radicale's
  storage, the matcher and the merged card of every group) on a 20,000-card
  address book stored as an import stores it.
* ``bench_merge``: merge-all of 4,000 duplicate groups (each a card and a
  second one with the email in other letter case or the phone in national
  form) in an address book of 10,000 cards stored as an import stores it,
  through the duplicate finder as the server route and the CLI use it, timed
  as a whole (reading, matching, merging, writing), while another user saves a
  card over and over (the longest save is reported); then its undo. Checked:
  afterwards each group is one card holding both cards' details, no group is
  left, the address book has 4,000 cards fewer, and the undo gives back
  every card exactly. Target: under 20 s.

Every figure is the median of ``--rounds`` rounds; a wrong answer exits
non-zero. ``--sections merge --rounds 1`` runs one section quickly.
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import io
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import print_report  # noqa: E402
from config import loader  # noqa: E402
from davserver.bulk_insert import NewItem  # noqa: E402
from davserver.services import Services  # noqa: E402
from plugins.duplicates import normalise  # noqa: E402
from plugins.duplicates.cards import read_cards  # noqa: E402
from plugins.duplicates.matcher import find_groups  # noqa: E402

MURMELI = [sys.executable, "-m", "davserver.cli"]
IMPORT_TARGET_SECONDS = 5.0
GIVEN = ["Anna", "Jean", "Lukas", "Marie", "Élodie", "Jürgen", "Sofia", "Noah", "Chloé", "Ben"]
FAMILY = ["Martin", "Müller", "Dupont", "Rossi", "García", "Schmid", "Keller", "Bernard", "Weber"]
GOOGLE_HEADER = [
    "First Name", "Middle Name", "Last Name", "Phonetic First Name", "Phonetic Middle Name",
    "Phonetic Last Name", "Name Prefix", "Name Suffix", "Nickname", "File As",
    "Organization Name", "Organization Title", "Organization Department", "Birthday", "Notes",
    "Photo", "Labels", "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label",
    "E-mail 2 - Value", "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label",
    "Phone 2 - Value", "Address 1 - Label", "Address 1 - Formatted", "Address 1 - Street",
    "Address 1 - City", "Address 1 - PO Box", "Address 1 - Region", "Address 1 - Postal Code",
    "Address 1 - Country", "Address 1 - Extended Address", "Website 1 - Label",
    "Website 1 - Value",
]  # fmt: skip


def google_csv(rows: int, seed: int = 4) -> bytes:
    """A Google Contacts export of ``rows`` contacts (plus the header line)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(GOOGLE_HEADER)
    for number in range(rows):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        row = dict.fromkeys(GOOGLE_HEADER, "")
        row |= {
            "First Name": given,
            "Last Name": f"{family}{number}",
            "Organization Name": f"Firma {number % 300}",
            "Organization Title": "Engineer",
            "Birthday": f"19{rng.randint(50, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "Notes": f"met at event {number % 17}",
            "Labels": "* myContacts ::: Friends",
            "E-mail 1 - Label": "* Home",
            "E-mail 1 - Value": f"{given.lower()}.{number}@example.org",
            "E-mail 2 - Label": "Work",
            "E-mail 2 - Value": f"{number}@firma{number % 300}.example",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": f"+41 79 {number:07d}",
            "Phone 2 - Label": "Work",
            "Phone 2 - Value": f"+41 44 {number:07d}",
            "Address 1 - Label": "Home",
            "Address 1 - Street": f"Bahnhofstrasse {number % 200}",
            "Address 1 - City": "Zürich",
            "Address 1 - Postal Code": "8001",
            "Address 1 - Country": "Switzerland",
        }
        writer.writerow(row.values())
    return out.getvalue().encode()


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def murmeli(data: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {"MURMELI_DATA": str(data), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [*MURMELI, *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


def bench_import(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="murmeli-bench-contacts-") as work:
        work_path = Path(work)
        csv_file = work_path / "google.csv"
        csv_file.write_bytes(google_csv(args.rows))
        data = work_path / "data"
        started = time.perf_counter()
        result = murmeli(
            data,
            "contacts", "import", str(csv_file),
            "--addressbook", "/bench/imported/", "--new-addressbook", "Imported",
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"import failed:\n{result.stdout}\n{result.stderr}")
        stored = _stored_cards(data)
        if stored != args.rows:
            raise SystemExit(f"expected {args.rows} stored cards, found {stored}")
        verdict = "ok" if elapsed < IMPORT_TARGET_SECONDS else "SLOWER THAN TARGET"
        print(
            f"import: {args.rows}-line Google CSV, end to end (process start included): "
            f"{elapsed:.2f} s (target < {IMPORT_TARGET_SECONDS:.0f} s: {verdict})"
        )
        baseline = _file_creation(work_path, 3 * args.rows)
        print(
            f"  disk baseline: creating {3 * args.rows} small files (what Radicale's layout "
            f"needs: card, item cache, history) takes {baseline:.2f} s"
        )


def _file_creation(folder: Path, count: int) -> float:
    """How fast this disk creates small files now: the import's floor, and what varies most
    between machines (and on a shared one, between runs)."""
    target = folder / "baseline"
    target.mkdir()
    started = time.perf_counter()
    for number in range(count):
        (target / str(number)).write_bytes(b"x" * 400)
    return time.perf_counter() - started


def _stored_cards(data: Path) -> int:
    """Cards Radicale serves from the new address book, read as a client's sync would."""
    script = (
        "import sys, dataclasses; from pathlib import Path; from radicale import storage;"
        "from config import loader; from davserver.services import Services;"
        "s = loader.load(None);"
        "s = dataclasses.replace(s, server=dataclasses.replace(s.server, data=Path(sys.argv[1])));"
        "st = storage.load(Services(s).radicale_configuration);"
        "lock = st.acquire_lock('r'); lock.__enter__();"
        "col = next(iter(st.discover('/bench/imported/')));"
        "token, changed = col.sync(); print(len(list(changed)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(data)], cwd=ROOT, capture_output=True, text=True
    )
    return int(result.stdout.strip() or -1)


# --- duplicate detection -----------------------------------------------------------------

DEDUP_SEED = 20240607
DEDUP_REGION = "CH"
DEDUP_SIZES = (5_000, 10_000, 20_000)
DEDUP_TARGET_SECONDS = 2.0
FIRST = words(
    "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Lena Max Nina Paula Luca Mia Noah "
    "Sofia Elias Lea Jan Laura Tim Sara Marc Julia Nico Lara Simon Eva Robin Nora Yann Chloé "
    "Loïc Hélène Jean Marie Pierre Louise"
)
LAST = words(
    "Müller Meier Schmid Keller Weber Huber Schneider Meyer Steiner Fischer Gerber Brunner "
    "Baumann Frei Zimmermann Moser Widmer Wyss Graf Roth Dupont Martin Bernard Favre Rochat "
    "Bonvin Rossi Bianchi Ferrari Russo Colombo Bühler Kälin Lüthi Suter Bachmann Kaufmann "
    "Wolf Marti Sutter Vogel Hofmann Koch Frey Egli Studer Lehmann Bolliger Ammann Arnold "
    "Hess Baumgartner Wenger Schwarz Stucki Hug Kunz Berger Maurer Zbinden"
)
COMPANIES = [f"{name} {kind}" for name in LAST[:40] for kind in ("AG", "GmbH", "SA")]


def person(rng: random.Random, number: int) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    phone = f"{number // 10000 % 1000:03d} {number // 100 % 100:02d} {number % 100:02d}"
    return {
        "uid": f"person-{number:06d}",
        "first": first,
        "last": last,
        "email": f"{first}.{last}.{number}@example.org".lower(),
        "phone": f"+41 7{number % 10} {phone}",
        "org": rng.choice(COMPANIES),
        "birthday": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }


def vcard(uid: str, fn: str, n: str, lines: list[str]) -> str:
    head = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", f"FN:{fn}", f"N:{n}"]
    return "\r\n".join([*head, *lines, "REV:20250101T000000Z", "END:VCARD"]) + "\r\n"


def original_card(p: dict) -> str:
    return vcard(
        p["uid"],
        f"{p['first']} {p['last']}",
        f"{p['last']};{p['first']};;;",
        [
            f"EMAIL;TYPE=INTERNET:{p['email']}",
            f"TEL;TYPE=CELL:{p['phone']}",
            f"ORG:{p['org']}",
            f"BDAY:{p['birthday']}",
            "ADR;TYPE=HOME:;;Bahnhofstrasse 1;Zürich;;8001;Switzerland",
            "NOTE:imported from the old phone",
        ],
    )


def duplicate_card(p: dict, uid: str, style: int) -> str:
    """Another card of the person: email in other case, phone in national form, or name
    in the other order with the organisation."""
    swapped = f"{p['last']} {p['first']}"
    if style == 0:
        return vcard(uid, swapped, ";;;;", [f"EMAIL:{p['email'].upper()}", "NOTE:webmail"])
    if style == 1:
        national = "0" + p["phone"].removeprefix("+41 ")
        return vcard(uid, f"{p['first']} {p['last']}", ";;;;", [f"TEL:{national}", "TITLE:x"])
    return vcard(uid, swapped, ";;;;", [f"ORG:{p['org'].upper()}", "URL:https://example.org"])


def address_book(size: int) -> tuple[dict[str, str], set[frozenset[str]], int]:
    """href -> text of ``size`` cards, the groups (sets of UIDs) that must be found, and
    how many planted duplicates are ambiguous: only a name and an organisation shared by
    two different people, so they must join neither."""
    rng = random.Random(DEDUP_SEED + size)
    people = [person(rng, number) for number in range(size - size // 10)]
    items = {f"{p['uid']}.vcf": original_card(p) for p in people}
    namesakes = collections.Counter((p["first"], p["last"], p["org"]) for p in people)
    planted, ambiguous = set(), 0
    for number, p in enumerate(rng.sample(people, size // 10)):
        uid = f"duplicate-{number:06d}"
        items[f"{uid}.vcf"] = duplicate_card(p, uid, number % 3)
        if number % 3 == 2 and namesakes[p["first"], p["last"], p["org"]] > 1:
            ambiguous += 1
        else:
            planted.add(frozenset({p["uid"], uid}))
    return items, planted, ambiguous


def timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def bench_dedup(args: argparse.Namespace) -> None:
    """Duplicate detection over address books of 5k/10k/20k cards, 10% duplicates."""
    print("duplicate detection, 10% duplicates (email case, national phone, swapped name + org):")
    matched: dict[int, float] = {}
    matcher_only: dict[int, float] = {}
    for size in DEDUP_SIZES:
        items, planted, ambiguous = address_book(size)
        reads, matches = [], []
        for _ in range(args.rounds):
            normalise.phone.cache_clear()  # each round reads every number as a first request
            read_time, cards = timed(lambda items=items: read_cards(items, DEDUP_REGION))
            match_time, groups = timed(lambda cards=cards: find_groups(cards))
            found = {frozenset(group.uids) for group in groups}
            if found != planted:
                raise SystemExit(
                    f"{size} cards: found {len(found)} of {len(planted)} groups, missed"
                    f" {len(planted - found)}, wrong {len(found - planted)}"
                )
            reads.append(read_time)
            matches.append(match_time)
        read_time, match_time = statistics.median(reads), statistics.median(matches)
        matched[size] = read_time + match_time
        matcher_only[size] = match_time
        print(
            f"  {size:>6} cards: read {read_time * 1000:5.0f} ms + match"
            f" {match_time * 1000:5.0f} ms = {matched[size] * 1000:5.0f} ms (medians of"
            f" {args.rounds}); found all {len(planted)} groups, nothing else"
            f" (+{ambiguous} ambiguous left apart)"
        )
    for small, large in itertools.pairwise(DEDUP_SIZES):
        ratio = matched[large] / matched[small]
        alone = matcher_only[large] / matcher_only[small]
        print(
            f"  growth t{large // 1000}k/t{small // 1000}k: {ratio:.2f} (read + match),"
            f" {alone:.2f} (match alone)"
        )
    verdict = "ok" if matched[DEDUP_SIZES[-1]] < DEDUP_TARGET_SECONDS else "SLOWER THAN TARGET"
    print(f"  target < {DEDUP_TARGET_SECONDS:.0f} s at {DEDUP_SIZES[-1]}: {verdict}")
    bench_dedup_cli(DEDUP_SIZES[-1])


def bench_dedup_cli(size: int) -> None:
    items, planted, _ = address_book(size)
    with tempfile.TemporaryDirectory(prefix="murmeli-bench-dedup-") as work:
        data = Path(work)
        settings = loader.load(None)
        settings = dataclasses.replace(
            settings, server=dataclasses.replace(settings.server, data=data)
        )
        cards = [NewItem(href, href.removesuffix(".vcf"), text) for href, text in items.items()]
        Services(settings).collections.insert("/bench/contacts/", cards, new_addressbook="Bench")
        for run in ("first run", "second run"):
            elapsed, result = timed(
                lambda: murmeli(data, "contacts", "duplicates", "/bench/contacts/", "--json")
            )
            if result.returncode != 0:
                raise SystemExit(f"duplicates failed:\n{result.stderr}")
            groups = json.loads(result.stdout)["groups"]
            if {frozenset(group["uids"]) for group in groups} != planted:
                raise SystemExit("the CLI found other groups than the matcher")
            print(f"  CLI --json end to end, {size} cards ({run}): {elapsed:.2f} s")


# --- merge-all ---------------------------------------------------------------------------

MERGE_GROUPS = 4_000
MERGE_CARDS = 10_000
MERGE_TARGET_SECONDS = 20.0
MERGE_BOOK = "/bench/contacts/"
OTHER_BOOK = "/other/contacts/"


def merge_book(groups: int, cards: int) -> tuple[dict[str, str], dict[str, str]]:
    """href -> text of ``cards`` cards, ``groups`` of them a second card of a person (the
    email in other case, or the phone in national form); and each original's href ->
    its duplicate's href."""
    rng = random.Random(DEDUP_SEED)
    people = [person(rng, number) for number in range(cards - groups)]
    items = {f"{p['uid']}.vcf": original_card(p) for p in people}
    pairs = {}
    for number, p in enumerate(people[:groups]):
        uid = f"duplicate-{number:06d}"
        items[f"{uid}.vcf"] = duplicate_card(p, uid, number % 2)
        pairs[f"{p['uid']}.vcf"] = f"{uid}.vcf"
    return items, pairs


def check_merged(before: dict[str, str], after: dict[str, str], pairs: dict[str, str]) -> None:
    """Each pair is one card with both cards' details; every other card is untouched."""
    if len(after) != len(before) - len(pairs):
        raise SystemExit(f"expected {len(before) - len(pairs)} cards after, found {len(after)}")
    for original, duplicate in pairs.items():
        kept = [href for href in (original, duplicate) if href in after]
        if len(kept) != 1:
            raise SystemExit(f"{original} and {duplicate}: {len(kept)} cards left, expected 1")
        text = after[kept[0]]
        if "imported from the old phone" not in text or not (
            "NOTE:webmail" in text or "TITLE:x" in text
        ):
            raise SystemExit(f"{kept[0]} lacks details of the other card of its group")
    untouched = set(before) - set(pairs) - set(pairs.values())
    if any(after[href] != before[href] for href in untouched):
        raise SystemExit("a card outside every group changed")
    if find_groups(read_cards(after, DEDUP_REGION)):
        raise SystemExit("groups are left after merge-all")


def merge_round(items: dict[str, str], pairs: dict[str, str]) -> tuple[float, float, float]:
    """Seconds for merge-all, the longest another user's write waited meanwhile, and
    seconds for the undo; each checked, in a new data folder."""
    with tempfile.TemporaryDirectory(prefix="murmeli-bench-merge-") as work:
        settings = loader.load(None)
        settings = dataclasses.replace(
            settings, server=dataclasses.replace(settings.server, data=Path(work))
        )
        services = Services(settings)
        cards = [NewItem(href, href.removesuffix(".vcf"), text) for href, text in items.items()]
        services.collections.insert(MERGE_BOOK, cards, new_addressbook="Bench")
        services.collections.insert(OTHER_BOOK, [], new_addressbook="Other")
        done = threading.Event()
        waits: list[float] = []
        other = threading.Thread(target=other_user_writes, args=(services, done, waits))
        other.start()
        try:
            merge, record = timed(lambda: services.duplicates.merge_all("bench", MERGE_BOOK))
        finally:
            done.set()
            other.join()
        check_merged(items, services.collections.items(MERGE_BOOK), pairs)
        undo, _ = timed(lambda: services.duplicates.undo("bench", record.id))
        if services.collections.items(MERGE_BOOK) != items:
            raise SystemExit("the undo did not give back every card exactly")
        return merge, max(waits), undo


def other_user_writes(services: Services, done: threading.Event, waits: list[float]) -> None:
    """Another user's client saving one card over and over, as a PUT does (through
    Radicale's write lock), until the merge is done: how long each save took."""
    text = vcard("other", "Other User", "User;Other;;;", ["EMAIL:other@example.org"])
    while not done.is_set():
        elapsed, _ = timed(lambda: services.collections.write(OTHER_BOOK, {"other.vcf": text}))
        waits.append(elapsed)


def bench_merge(args: argparse.Namespace) -> None:
    """Merge-all of 4,000 groups through the duplicate finder, then its undo."""
    items, pairs = merge_book(args.groups, MERGE_CARDS)
    timings = [merge_round(items, pairs) for _ in range(args.rounds)]
    merge, wait, undo = (statistics.median(column) for column in zip(*timings, strict=True))
    rows = [
        ("operation", "cards", "groups", f"median of {args.rounds} (s)"),
        ("merge-all", str(len(items)), str(len(pairs)), f"{merge:.2f}"),
        ("another user's write meanwhile, longest", "1", "", f"{wait:.2f}"),
        ("its undo", str(len(items) - len(pairs)), str(len(pairs)), f"{undo:.2f}"),
    ]
    verdict = "met" if merge < MERGE_TARGET_SECONDS else "NOT MET"
    print_report(
        "Duplicate contacts: merge-all",
        rows,
        [
            f"target merge-all of {len(pairs)} groups < {MERGE_TARGET_SECONDS:.0f} s: {verdict}",
            "checked: one card per group with both cards' details, no group left, others"
            " untouched; the undo gives back every card exactly",
        ],
    )


SECTIONS = {"import": bench_import, "dedup": bench_dedup, "merge": bench_merge}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="contacts in the CSV")
    parser.add_argument("--groups", type=int, default=MERGE_GROUPS, help="groups to merge")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument(
        "--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS), metavar="NAME"
    )
    args = parser.parse_args()
    for name in args.sections:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
