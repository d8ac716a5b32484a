"""A CSV file of accounts to import, checked whole before anything is queued.

At most :data:`MAX_ACCOUNTS` accounts per file, as in the hosted suite we
replace. Every row is checked first; any problem refuses the whole file,
naming each bad line and why, so a file is queued completely or not at all.
Google and Microsoft accounts are refused here: their IMAP login needs OAuth
or an app password the user creates, which is better done one account at a
time with ``murmeli import add``. See ``importer/batch-template.csv``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from importer.connection import SECURITIES
from importer.jobs import JobRequest
from importer.presets import PresetError, domain_of, source_server

MAX_ACCOUNTS = 25
REQUIRED = ("source_address", "source_password", "destination_address")
OPTIONAL = ("server", "port", "security", "destination_password", "prefix")


class BatchError(ValueError):
    """The file is refused; the text lists each problem with its line number."""


@dataclass(frozen=True)
class BatchRules:
    own_destination_password: bool  # no master user: each row gives the destination's password
    allow_plaintext: bool = False


def read_batch(text: str, rules: BatchRules) -> list[tuple[JobRequest, str, str | None]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise BatchError(
            "line 1: the header must name the columns "
            f"{', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    reader.fieldnames = header
    accounts, problems = [], []
    for row in reader:
        line = reader.line_num
        if not any((value or "").strip() for value in row.values()):
            continue
        try:
            accounts.append(_account(row, rules))
        except (PresetError, ValueError) as error:
            problems.append(f"line {line}: {error}")
    if len(accounts) + len(problems) > MAX_ACCOUNTS:
        raise BatchError(
            f"{len(accounts) + len(problems)} accounts: at most {MAX_ACCOUNTS} per file; "
            "split it into several files"
        )
    if problems:
        raise BatchError("\n".join(problems))
    if not accounts:
        raise BatchError("no accounts in the file")
    return accounts


def _account(row: dict, rules: BatchRules) -> tuple[JobRequest, str, str | None]:
    value = {name: (row.get(name) or "").strip() for name in REQUIRED + OPTIONAL}
    if None in row:
        raise ValueError("more cells than columns")
    source, destination = value["source_address"], value["destination_address"]
    domain_of(source)
    domain_of(destination)
    if not value["source_password"]:
        raise ValueError("source_password is empty")
    security = value["security"].lower() or None
    if security is not None and security not in SECURITIES:
        raise ValueError(f"security must be one of {', '.join(SECURITIES)}, not {security!r}")
    server_text = value["server"] or None
    if value["port"]:
        if not server_text or not value["port"].isdigit():
            raise ValueError("port needs a server, and must be a number")
        server_text = f"{server_text}:{value['port']}"
    server = source_server(source, server_text, security)
    if server.needs_oauth:
        raise ValueError(
            f"{source}: {server.provider.title()} accounts are not imported in batch (their "
            "login needs OAuth): create an app password and use `murmeli import add` for it"
        )
    if server.security == "none" and not rules.allow_plaintext:
        raise ValueError("security none sends the password in clear: add --allow-plaintext")
    destination_password = value["destination_password"] or None
    if rules.own_destination_password and destination_password is None:
        raise ValueError("destination_password is empty (no importer.master_user is configured)")
    request = JobRequest(
        server.host, server.port, server.security, source, destination, value["prefix"] or None
    )
    return request, value["source_password"], destination_password
