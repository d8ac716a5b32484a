"""A throw-away Dovecot 2.3 IMAP server on 127.0.0.1 (Debian's ``dovecot-imapd``) for import tests.

Everything lives under one temporary root: configuration, runtime sockets,
log, users (one passwd-file per user, ``{PLAIN}`` passwords) and maildirs. Running as
root, Dovecot refuses root for logins and mail access, hence ``dovenull`` and
a bare numeric mail uid; every parent of the root must be traversable by them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.ports import free_port

DOVECOT = Path("/usr/sbin/dovecot")
MAIL_ID = 5000

SPECIAL_USE = {"Drafts": r"\Drafts", "Sent": r"\Sent", "Trash": r"\Trash", "Junk": r"\Junk"}
# Gmail's layout, as its IMAP server shows it (All Mail holds every message of every label).
GMAIL_SPECIAL_USE = {
    "[Gmail]/All Mail": r"\All",
    "[Gmail]/Drafts": r"\Drafts",
    "[Gmail]/Sent Mail": r"\Sent",
    "[Gmail]/Bin": r"\Trash",
    "[Gmail]/Spam": r"\Junk",
    "[Gmail]/Starred": r"\Flagged",
}

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = murmeli-test-{port}
log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 0
mail_uid = {mail_id}
mail_gid = {mail_id}
mail_location = maildir:~/Maildir
mail_fsync = {mail_fsync}
mail_max_userip_connections = 50

service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = {tls_port}
  }}
}}

passdb {{
  driver = passwd-file
  master = yes
  pass = yes
  args = {root}/masters
}}

passdb {{
  driver = passwd-file
  args = {root}/users/%u
}}

userdb {{
  driver = static
  args = uid={mail_id} gid={mail_id} home={root}/mail/%d/%n
}}

namespace inbox {{
  inbox = yes
  separator = /
{mailboxes}
}}
"""

_MAILBOX = """\
  mailbox "{name}" {{
    auto = subscribe
    special_use = {use}
  }}
"""


def available() -> bool:
    return DOVECOT.exists()


class DovecotServer:
    """One Dovecot instance with its own users; ``start()``, ``add_user()``, ``stop()``."""

    def __init__(
        self,
        special_use: dict[str, str] = SPECIAL_USE,
        masters: dict[str, str] | None = None,
        mail_fsync: str = "never",
        certificate: tuple[Path, Path] | None = None,
    ) -> None:
        """``masters``: Dovecot master users (``ACCOUNT*name`` logs in as ACCOUNT).
        ``mail_fsync``: tests need no durability; benchmarks use Dovecot's default, ``optimized``.
        ``certificate``: (certificate, key) files: STARTTLS on ``port`` and implicit TLS on
        ``tls_port``; without it, plain text only.
        """
        self.special_use = special_use
        self.masters = masters or {}
        self.mail_fsync = mail_fsync
        self.certificate = certificate
        self.root = Path(tempfile.mkdtemp(prefix="murmeli-dovecot-"))
        self.root.chmod(0o755)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls_port = free_port() if certificate else 0
        self.config = self.root / "dovecot.conf"

    def start(self) -> DovecotServer:
        if not available():  # fail by name, never skip: CI must not pass without the import tests
            raise RuntimeError("dovecot-imapd is not installed (scripts/install-test-services)")
        for folder in ("run", "state", "mail", "users"):
            (self.root / folder).mkdir(mode=0o755)
        os.chown(self.root / "mail", MAIL_ID, MAIL_ID)
        (self.root / "masters").write_text(
            "".join(f"{name}:{{PLAIN}}{password}\n" for name, password in self.masters.items())
        )
        mailboxes = "".join(_MAILBOX.format(name=n, use=u) for n, u in self.special_use.items())
        self.config.write_text(
            _CONFIG.format(
                root=self.root,
                port=self.port,
                mail_id=MAIL_ID,
                mailboxes=mailboxes,
                mail_fsync=self.mail_fsync,
                tls_port=self.tls_port,
                ssl=self._ssl(),
            )
        )
        # The daemon keeps inherited pipes open: let it write to nothing but its log.
        subprocess.run(
            [str(DOVECOT), "-c", str(self.config)],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        self._wait_for_greeting()
        return self

    def _ssl(self) -> str:
        if self.certificate is None:
            return "ssl = no"
        certificate, key = self.certificate
        return f"ssl = yes\nssl_cert = <{certificate}\nssl_key = <{key}"

    def add_user(self, name: str, password: str) -> str:
        """Adds ``name`` (an address such as ``alice@example.org``); returns it as the login."""
        # One passwd-file per user: Dovecot checks a known file for changes at most once a
        # second, so a user appended to a shared file could be unknown for that second.
        (self.root / "users" / name).write_text(f"{name}:{{PLAIN}}{password}\n")
        return name

    def kick(self, user: str) -> bool:
        """Drops every connection of ``user``, as a server restart or a provider would;
        False if ``user`` had none (doveadm's exit status 68)."""
        result = subprocess.run(
            ["/usr/bin/doveadm", "-c", str(self.config), "kick", user],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode not in (0, 68):
            raise RuntimeError(f"doveadm kick {user}: {result.stderr.strip()}")
        return result.returncode == 0

    def stop(self) -> None:
        subprocess.run(
            [str(DOVECOT), "-c", str(self.config), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        self._wait_for_exit()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_for_greeting(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start on port {self.port}:\n{self.log()}")

    def _wait_for_exit(self) -> None:
        master_pid = self.root / "run" / "master.pid"
        deadline = time.monotonic() + 20
        while master_pid.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


class DovecotPair:
    """The two servers of an import: the provider mail comes from, and ours it goes to."""

    def __init__(self) -> None:
        self.source = DovecotServer()
        self.destination = DovecotServer()

    def start(self) -> DovecotPair:
        self.source.start()
        try:
            self.destination.start()
        except BaseException:
            self.source.stop()
            raise
        return self

    def stop(self) -> None:
        self.source.stop()
        self.destination.stop()
