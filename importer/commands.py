"""``murmeli importer`` (the daemon) and ``murmeli import add|status|cancel``.

``add`` reads the source password from stdin or a prompt, never from the
command line (where ``ps`` would show it), and prints the job id alone on its
last line, so scripts can take it with ``tail -n 1``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys
import time
from pathlib import Path

from davserver import logs
from davserver.command_line import UsageError, load_services, load_settings, print_table
from davserver.services import Services
from importer.batch import MAX_ACCOUNTS, BatchError, BatchRules, read_batch
from importer.connection import SECURITIES
from importer.daemon import build_daemon
from importer.jobs import ENDED, JobRequest
from importer.presets import PresetError
from importer.progress import job_progress
from importer.report import folder_rows, job_report, progress_bar, summary
from importer.requests import job_request
from importer.settings import ImporterSettings

FOLLOW_INTERVAL = 1.0


def register(subcommands, common: argparse.ArgumentParser) -> None:
    daemon = subcommands.add_parser(
        "importer", parents=[common], help="run the IMAP import daemon in the foreground"
    )
    daemon.set_defaults(handler=run_daemon)

    imports = subcommands.add_parser("import", help="copy whole mailboxes from other providers")
    actions = imports.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", parents=[common], help="queue the import of one mailbox")
    add.add_argument("--from", dest="source", required=True, metavar="ADDRESS")
    add.add_argument("--to", dest="destination", required=True, metavar="ADDRESS")
    add.add_argument(
        "--server",
        metavar="HOST[:PORT]",
        help="source IMAP server, or a preset (google, microsoft, yahoo, gmx, icloud, bluewin); "
        "default: the preset of the address's domain",
    )
    add.add_argument("--security", choices=SECURITIES, help="default: tls (the preset's)")
    add.add_argument(
        "--allow-plaintext",
        action="store_true",
        help="accept --security none (the password crosses the network in clear)",
    )
    add.add_argument("--password-stdin", action="store_true", help="source password from stdin")
    add.add_argument(
        "--to-password-file",
        type=Path,
        metavar="FILE",
        help="the destination account's password (when no importer.master_user is configured)",
    )
    add.add_argument("--prefix", metavar="FOLDER", help="put the imported folders under FOLDER")
    add.set_defaults(handler=add_job)

    batch = actions.add_parser(
        "batch", parents=[common], help=f"queue up to {MAX_ACCOUNTS} imports from a CSV file"
    )
    batch.add_argument("file", type=Path, metavar="FILE.csv", help="as importer/batch-template.csv")
    batch.add_argument("--allow-plaintext", action="store_true", help="accept security none")
    batch.set_defaults(handler=add_batch)

    status = actions.add_parser("status", parents=[common], help="show jobs and their progress")
    status.add_argument("job", nargs="?", metavar="JOB")
    status.add_argument("--follow", action="store_true", help="show a progress bar until it ends")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=show_status)

    cancel = actions.add_parser("cancel", parents=[common], help="stop a job after its batch")
    cancel.add_argument("job", metavar="JOB")
    cancel.set_defaults(handler=cancel_job)


def run_daemon(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    logs.configure(settings.server.log_level)
    daemon = build_daemon(Services(settings))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: daemon.stop())
    daemon.run(
        started=lambda: print(_announcement(settings.importer, args.config), file=sys.stderr)
    )
    return 0


def _announcement(settings: ImporterSettings, config: Path | None) -> str:
    """What the foreground daemon is about to do, and how to end it: it runs until stopped."""
    source = f"the importer section of {config}" if config else "built-in defaults, no --config"
    return (
        f"murmeli importer: runs jobs queued with `murmeli import add`, looking every "
        f"{settings.poll_interval:g}s, copying to {settings.host}:{settings.port} "
        f"({settings.security}; {source}). It runs until Ctrl-C or SIGTERM; "
        "`murmeli serve` runs it too when importer.enabled is true."
    )


def add_job(args: argparse.Namespace) -> int:
    services = load_services(args)
    settings = services.settings.importer
    request = _request(args)
    destination_password = None
    if args.to_password_file is not None:
        destination_password = _read_secret_file(args.to_password_file)
    elif settings.master_user is None:
        raise UsageError(
            "--to-password-file is required: no importer.master_user is configured to log in "
            "to the destination"
        )
    password = _source_password(args.password_stdin)
    job = services.import_jobs.add(request, password, destination_password)
    print(
        f"queued: {job.source_login} ({job.source_host}:{job.source_port} {job.source_security})"
        f" → {job.destination_login}"
    )
    print(f"follow it with: murmeli import status {job.id} --follow")
    print(job.id)
    return 0


def add_batch(args: argparse.Namespace) -> int:
    services = load_services(args)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {args.file}: {error}") from None
    rules = BatchRules(services.settings.importer.master_user is None, args.allow_plaintext)
    try:
        accounts = read_batch(text, rules)
    except BatchError as error:
        raise UsageError(f"{args.file} refused, nothing queued:\n{error}") from None
    jobs = services.import_jobs.add_many(accounts)
    print(f"queued {len(jobs)} imports; follow them with: murmeli import status")
    for job in jobs:
        print(f"{job.id}  {job.source_login} → {job.destination_login}")
    return 0


def _request(args: argparse.Namespace) -> JobRequest:
    try:
        return job_request(
            args.source,
            args.destination,
            args.server,
            args.security,
            args.allow_plaintext,
            args.prefix,
        )
    except PresetError as error:
        raise UsageError(str(error)) from None


def _source_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Source mailbox password: ")
    else:
        raise UsageError("no terminal to ask for the password: use --password-stdin")
    if not password:
        raise UsageError("the source password is empty")
    return password


def _read_secret_file(path: Path) -> str:
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"--to-password-file: cannot read {path}: {error}") from None
    if not secret:
        raise UsageError(f"--to-password-file: {path} is empty")
    return secret


def show_status(args: argparse.Namespace) -> int:
    services = load_services(args)
    if args.job is None:
        if args.follow:
            raise UsageError("--follow needs a JOB")
        return _list_jobs(services, args.json)
    report = _report(services, args.job)
    if args.follow:
        report = _follow(services, args.job, report, as_json=args.json)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(summary(report))
    if report["folders"]:
        print()
        print_table(folder_rows(report))
    return 0


def _report(services: Services, job: str) -> dict:
    return job_report(services.import_jobs.get(job), job_progress(services.database, job))


def _list_jobs(services: Services, as_json: bool) -> int:
    reports = [
        job_report(job, job_progress(services.database, job.id))
        for job in services.import_jobs.list()
    ]
    if as_json:
        print(json.dumps(reports, indent=2))
        return 0
    rows = [("JOB", "STATE", "FROM", "TO", "COPIED", "SKIPPED", "FAILED", "CREATED")]
    rows += [
        (
            r["id"],
            r["state"],
            r["source"]["login"],
            r["destination"],
            str(r["copied"]),
            str(r["skipped"]),
            str(r["failed"]),
            r["created_at"],
        )
        for r in reports
    ]
    print_table(rows)
    return 0


def _follow(services: Services, job: str, report: dict, as_json: bool) -> dict:
    """Redraws the bar until the job ends (on stderr with --json, so stdout stays JSON)."""
    out = sys.stderr if as_json else sys.stdout
    redraw = out.isatty()
    last = None
    while True:
        line = progress_bar(report)
        if line != last:
            out.write(f"\r\033[K{line}" if redraw else f"{line}\n")
            out.flush()
            last = line
        if report["state"] in ENDED:
            break
        time.sleep(FOLLOW_INTERVAL)
        report = _report(services, job)
    if redraw:
        out.write("\n")
    return report


def cancel_job(args: argparse.Namespace) -> int:
    job = load_services(args).import_jobs.cancel(args.job)
    if job.ended:
        print(f"import {job.id}: cancelled")
    else:
        print(f"import {job.id}: cancel requested; it stops after its current batch")
    return 0
