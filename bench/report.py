"""How every benchmark prints its results: an aligned plain-text table, then the same in
Markdown (for issue notes and the README), each followed by the verdicts on the targets;
and how every benchmark checks that the contenders gave the same answers, so that a wrong
answer can never win."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

Rows = Sequence[Sequence[str]]
T = TypeVar("T")


def plain(rows: Rows) -> str:
    """Header, a rule, then rows; the first column left-aligned, the figures right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.rjust(width) for cell, width in zip(row, widths, strict=True)]
        cells[0] = row[0].ljust(widths[0])
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown(rows: Rows) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |"]
    lines.append("|" + "|".join([":---"] + ["---:"] * (len(rows[0]) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def print_report(title: str, rows: Rows, verdicts: Sequence[str]) -> None:
    print(f"\n{title}\n\n{plain(rows)}\n")
    print("\n".join(verdicts))
    print(f"\n**{title}**\n\n{markdown(rows)}\n")
    print("\n".join(f"- {line}" for line in verdicts))


class Mismatch(RuntimeError):
    """A contender answered differently from the reference: its time measures other work,
    so the run is void (exit status 1) and no target is reported met."""


def verify(what: str, contender: str, answer: object, reference: object) -> None:
    """Raises ``Mismatch`` unless ``answer`` equals ``reference``; sets are told apart by
    what is missing and what is extra, mappings by the keys whose values differ, sequences
    by the first item that differs, so a failed run says which items differ."""
    if answer == reference:
        return
    if isinstance(answer, (set, frozenset)) and isinstance(reference, (set, frozenset)):
        missing, extra = sorted(map(str, reference - answer)), sorted(map(str, answer - reference))
        detail = f"{len(answer)} items, reference {len(reference)}"
        detail += f"; missing {missing[:3]}" if missing else ""
        detail += f"; extra {extra[:3]}" if extra else ""
    elif isinstance(answer, Mapping) and isinstance(reference, Mapping):
        keys = [k for k in {**reference, **answer} if answer.get(k) != reference.get(k)]
        detail = f"{len(answer)} keys, reference {len(reference)}; " + ", ".join(
            f"{k}: {answer.get(k)!r} instead of {reference.get(k)!r}" for k in keys[:3]
        )
    elif isinstance(answer, (tuple, list)) and isinstance(reference, (tuple, list)):
        pairs = enumerate(zip(answer, reference, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), min(len(answer), len(reference)))
        detail = f"{len(answer)} items, reference {len(reference)}; from item {at}: "
        detail += f"{str(answer[at : at + 1])[:200]} instead of {str(reference[at : at + 1])[:200]}"
    else:
        detail = f"{str(answer)[:200]!r}, reference {str(reference)[:200]!r}"
    raise Mismatch(f"{contender}: {what} differs: {detail}")


def speed_ratio(reference_time: float | None, murmeli_time: float | None) -> float | None:
    """The one meaning of every ratio column: the peer's time over Murmeli's (higher =
    Murmeli faster, 1.00 = as fast); None where either has no time."""
    if not reference_time or not murmeli_time:
        return None
    return reference_time / murmeli_time


def rotated(contenders: Sequence[T], turn: int) -> list[T]:
    """The order of round ``turn``: each contender first in turn, so that machine noise
    (caches, other work on the machine) hits all of them alike."""
    shift = turn % len(contenders)
    return [*contenders[shift:], *contenders[:shift]]


def timed_out(seconds: float) -> str:
    """The cell of a contender stopped at its time limit: shown, never dropped."""
    return f"> {seconds:,.0f} s"


def exit_status(run: Callable[[], None]) -> int:
    """Runs a benchmark: 0 if every answer matched, 1 (no report) on a ``Mismatch``."""
    try:
        run()
    except Mismatch as error:
        print(f"bench failed, answers differ: {error}", file=sys.stderr)
        return 1
    return 0
