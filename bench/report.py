"""How every benchmark prints its results: an aligned plain-text table, then the same in
Markdown (for issue notes and the README), each followed by the verdicts on the targets."""

from __future__ import annotations

from collections.abc import Sequence

Rows = Sequence[Sequence[str]]


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
