"""The ``importer`` section: the destination IMAP server, how to log in there, how much at once.

The destination is reached with IMAP like any other server. The importer logs
in either as a master user (Dovecot's ``user*master`` login: one secret for
every account) or, when no master user is configured, with the destination
account's own password given with each job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config.schema import boolean, choice, duration, integer, option, optional, path, text
from importer.connection import SECURITIES


@dataclass(frozen=True)
class ImporterSettings:
    enabled: bool = option(False, boolean, "run the import daemon inside `murmeli serve`")
    host: str = option("127.0.0.1", text, "destination IMAP server (where mail is imported to)")
    port: int = option(993, integer(1, 65535), "destination IMAP port (993 tls, 143 starttls)")
    security: str = option(
        "tls", choice(*SECURITIES), "tls, starttls or none (plain text: loopback only)"
    )
    ca_file: Path | None = option(
        None, optional(path), "PEM certificates the destination's certificate may chain to"
    )
    master_user: str | None = option(
        None,
        optional(text),
        "master login at the destination (Dovecot master user); unset: each job gives the "
        "destination account's own password",
    )
    master_password_file: Path | None = option(
        None, optional(path), "file holding the master user's password"
    )
    master_separator: str = option("*", text, "separator of Dovecot's auth_master_user_separator")
    max_jobs: int = option(4, integer(1, 64), "jobs copied at the same time")
    max_per_host: int = option(
        2, integer(1, 64), "jobs at the same time reading from one source server"
    )
    key_file: Path | None = option(
        None,
        optional(path),
        "AES-256 key encrypting stored source passwords (default: importer.key in the data "
        "folder, created on first use); keep it apart from database backups",
    )
    poll_interval: float = option(2, duration, "how often the daemon looks for new jobs")
    retries: int = option(
        8, integer(0, 100), "attempts after a transient failure before the job fails"
    )
    backoff: float = option(10, duration, "wait after the first transient failure (then doubled)")
    max_backoff: float = option(900, duration, "longest wait between two attempts")
    batch_messages: int = option(200, integer(1, 10000), "messages per APPEND at most")
    folders_at_once: int = option(
        3,
        integer(1, 8),
        "folders of one job copied at the same time, each on its own pair of connections "
        "(providers limit connections per account: Gmail 15, Microsoft 365 20)",
    )

    def __post_init__(self) -> None:
        if (self.master_user is None) != (self.master_password_file is None):
            raise ValueError("master_user and master_password_file must be given together")

    def key_path(self, data: Path) -> Path:
        return self.key_file or data / "importer.key"
