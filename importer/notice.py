"""The confirmation email at the end of a job, to every address involved (source and destination).

It states the outcome and, folder by folder, how many messages were copied,
skipped (already there) and failed: the same numbers as ``murmeli import
status``. Not sending it (no SMTP server configured, SMTP down) is logged and
changes nothing about the job.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

from davserver.command_line import format_table
from davserver.database import Database
from davserver.mail import Mailer, MailError
from importer.jobs import Job
from importer.progress import job_progress
from importer.report import folder_rows, job_report, summary

logger = logging.getLogger("murmeli.importer")

SUBJECTS = {
    "done": "Your mailbox import is complete",
    "failed": "Your mailbox import failed",
    "cancelled": "Your mailbox import was cancelled",
}


class ImportNotice:
    def __init__(self, mailer: Mailer, database: Database) -> None:
        self.mailer = mailer
        self.database = database

    def send(self, job: Job) -> None:
        if not self.mailer.configured:
            return
        report = job_report(job, job_progress(self.database, job.id))
        recipients = sorted(_addresses(job))
        if not recipients:
            return
        message = EmailMessage()
        message["To"] = ", ".join(recipients)
        message["Subject"] = f"{SUBJECTS[job.state]}: {job.source_login}"
        message.set_content(body(report))
        try:
            self.mailer.send(message)
        except MailError as error:
            logger.warning("import %s: confirmation email not sent: %s", job.id, error)


def body(report: dict) -> str:
    return f"{summary(report)}\n\nFolder by folder:\n\n{format_table(folder_rows(report))}\n"


def _addresses(job: Job) -> set[str]:
    """Logins that are email addresses (a provider login may be a bare user name)."""
    return {login for login in (job.source_login, job.destination_login) if "@" in login}
