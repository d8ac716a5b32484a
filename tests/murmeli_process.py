"""A real ``murmeli serve`` process on an ephemeral 127.0.0.1 port, and the CLI beside it."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests

MURMELI = [sys.executable, "-m", "davserver.cli"]
_LISTENING = re.compile(r"listening on (https?://[^ ]+)")
_names = itertools.count(1)


def unique_name(prefix: str) -> str:
    return f"{prefix}{next(_names)}x{os.getpid()}"


@dataclass
class MurmeliServer:
    data: Path
    config: Path | None = None
    url: str = ""
    process: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        env = dict(os.environ, MURMELI_DATA=str(self.data))
        env.pop("MURMELI_CONFIG", None)
        if self.config:
            env["MURMELI_CONFIG"] = str(self.config)
        return env

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*MURMELI, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environment(),
            timeout=120,
        )

    def start(self, *extra: str) -> MurmeliServer:
        self.process = subprocess.Popen(
            [*MURMELI, "serve", "--listen", "127.0.0.1:0", *extra],
            stderr=subprocess.PIPE,
            text=True,
            env=self.environment(),
        )
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            match = _LISTENING.search(line)
            if match:
                self.url = match[1]
                break
        else:
            raise RuntimeError("murmeli serve did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def assert_log_clean(self, *marks: str) -> None:
        """No traceback (nor any of ``marks``) in what the server logged: errors it met were
        answered with a reason, not crashed through."""
        problems = [
            i for i, line in enumerate(self.log) if any(m in line for m in ("Traceback", *marks))
        ]
        assert not problems, "".join(self.log[problems[0] : problems[0] + 30]) if problems else ""

    def add_user(
        self, prefix: str = "user", role: str = "collaborator", teams: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        """A new user with a random password; returns (name, password)."""
        name = unique_name(prefix)
        password = f"pw-{name}-{os.urandom(6).hex()}"
        args = ["user", "add", name, "--password-stdin", "--role", role]
        for team in teams:
            args += ["--group", team]
        result = self.cli(*args, stdin=password + "\n")
        assert result.returncode == 0, result.stderr
        return name, password

    def add_dav_user(self, prefix: str = "user") -> tuple[str, str]:
        """A new user whose calendar and address book exist: Radicale makes them on the
        user's first PROPFIND of their principal."""
        auth = self.add_user(prefix)
        answer = requests.request(
            "PROPFIND", f"{self.url}/{auth[0]}/", auth=auth, headers={"Depth": "0"}, timeout=30
        )
        assert answer.status_code == 207, answer.text
        return auth


def clean(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
