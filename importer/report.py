"""What a job's owner is told: the job, its counts per folder, as JSON, as text, as a bar.

Shared by ``murmeli import status``, the ``/api/imports`` routes and the
confirmation email, so all three state the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from importer.jobs import Job
from importer.progress import FolderProgress

COUNTS = ("copied", "skipped", "failed", "bytes")
BAR_WIDTH = 30


def job_report(job: Job, progress: list[FolderProgress]) -> dict[str, Any]:
    folders = [
        {"folder": p.folder, "destination": p.destination, **{c: getattr(p, c) for c in COUNTS}}
        for p in progress
    ]
    return {
        "id": job.id,
        "state": job.state,
        "error": job.error,
        "source": {
            "login": job.source_login,
            "host": job.source_host,
            "port": job.source_port,
            "security": job.source_security,
        },
        "destination": job.destination_login,
        "prefix": job.prefix,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "total_messages": job.total_messages,
        **{count: sum(folder[count] for folder in folders) for count in COUNTS},
        "folders": folders,
    }


def folder_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """A table of the folders (header first) for ``print_table`` and ``format_table``."""
    rows = [("FOLDER", "TO", "COPIED", "SKIPPED", "FAILED", "SIZE")]
    for folder in report["folders"]:
        rows.append(
            (
                folder["folder"],
                folder["destination"],
                *(str(folder[count]) for count in COUNTS[:3]),
                size(folder["bytes"]),
            )
        )
    return rows


def summary(report: dict[str, Any]) -> str:
    source = report["source"]
    lines = [
        f"import {report['id']}: {report['state']}",
        f"from {source['login']} ({source['host']}:{source['port']} {source['security']}) "
        f"to {report['destination']}" + (f" under {report['prefix']}" if report["prefix"] else ""),
        f"{report['copied']} copied, {report['skipped']} skipped (already there), "
        f"{report['failed']} failed, {size(report['bytes'])}",
    ]
    if report["error"]:
        lines.append(("reason: " if report["state"] == "failed" else "note: ") + report["error"])
    return "\n".join(lines)


def progress_bar(report: dict[str, Any]) -> str:
    done = report["copied"] + report["skipped"] + report["failed"]
    total = report["total_messages"]
    if not total:
        return f"{report['state']}: {done} messages, {size(report['bytes'])}"
    fraction = min(done / total, 1.0)
    filled = round(fraction * BAR_WIDTH)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return (
        f"[{bar}] {fraction:4.0%} {done}/{total} messages, {size(report['bytes'])} "
        f"({report['state']})"
    )


def size(count: int) -> str:
    units = ("B", "KB", "MB", "GB")
    value, unit = float(count), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    return f"{count} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
