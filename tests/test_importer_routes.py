"""``/api/imports`` on a real server: who sees which job, and cancelling over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.murmeli_process import MurmeliServer, unique_name


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[MurmeliServer]:
    running = MurmeliServer(tmp_path_factory.mktemp("imports") / "data").start()
    yield running
    running.stop()


def user(server: MurmeliServer, role: str = "collaborator") -> tuple[str, str, str]:
    name = unique_name("importer")
    password = f"pw-{name}-long-enough"
    email = f"{name}@example.org"
    result = server.cli(
        "user", "add", name, "--password-stdin", "--role", role, "--email", email,
        stdin=password + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return name, password, email


def queue(server: MurmeliServer, destination: str, folder: Path) -> str:
    password_file = folder / "destination-pw"
    password_file.write_text("destination-pw\n")
    result = server.cli(
        "import", "add", "--from", "someone@gmx.ch", "--to", destination,
        "--to-password-file", str(password_file), "--password-stdin", stdin="source-pw\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


def test_owners_and_admins_see_and_cancel_a_job_others_get_404(
    server: MurmeliServer, tmp_path: Path
) -> None:
    owner, owner_pw, owner_email = user(server)
    other, other_pw, _ = user(server)
    admin, admin_pw, _ = user(server, "admin")
    job = queue(server, owner_email, tmp_path)
    url = f"{server.url}/api/imports"

    mine = requests.get(url, auth=(owner, owner_pw), timeout=10).json()
    assert [(j["id"], j["state"], j["source"]["host"]) for j in mine] == [
        (job, "queued", "imap.gmx.net")
    ]
    assert requests.get(url, auth=(other, other_pw), timeout=10).json() == []
    hidden = requests.get(f"{url}/{job}", auth=(other, other_pw), timeout=10)
    assert hidden.status_code == 404
    assert (
        requests.post(f"{url}/{job}/cancel", auth=(other, other_pw), timeout=10).status_code == 404
    )
    assert requests.get(f"{url}/{job}", auth=(admin, admin_pw), timeout=10).json()["id"] == job

    cancelled = requests.post(f"{url}/{job}/cancel", auth=(owner, owner_pw), timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = requests.post(f"{url}/{job}/cancel", auth=(owner, owner_pw), timeout=10)
    assert again.status_code == 409 and "already ended" in again.json()["error"]
