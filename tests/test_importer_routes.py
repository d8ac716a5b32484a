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


def test_a_user_starts_an_import_into_their_own_address_over_http(server: MurmeliServer) -> None:
    owner, owner_pw, owner_email = user(server)
    url = f"{server.url}/api/imports"
    body = {"from": "someone@gmx.ch", "password": "source-pw", "to_password": "own-pw"}

    created = requests.post(url, json=body, auth=(owner, owner_pw), timeout=10)

    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["state"], job["destination"], job["source"]["host"]) == (
        "queued",
        owner_email,
        "imap.gmx.net",
    )
    listed = requests.get(url, auth=(owner, owner_pw), timeout=10).json()
    assert [j["id"] for j in listed] == [job["id"]]
    status = server.cli("import", "status", job["id"], "--json")
    assert status.returncode == 0 and '"state": "queued"' in status.stdout


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"to": "someone-else@example.org"}, 403, "only into your own address"),
        ({"to_password": None}, 400, "'to_password' is required"),
        ({"password": ""}, 400, "'password'"),
        ({"from": "nobody@unknown-provider.example"}, 400, "no preset"),
        ({"server": "imap.example.net", "security": "none"}, 400, "in clear"),
        ({"server": "imap.example.net", "security": "ssl"}, 400, "security must be one of"),
        ({"allow_plaintext": "yes"}, 400, "'allow_plaintext'"),
        ({"prefix": " Old"}, 400, "prefix"),
    ],
)
def test_a_bad_import_request_is_refused_with_the_reason_and_queues_nothing(
    server: MurmeliServer, change: dict, status: int, reason: str
) -> None:
    owner, owner_pw, _ = user(server)
    url = f"{server.url}/api/imports"
    body = {"from": "someone@gmx.ch", "password": "source-pw", "to_password": "own-pw"}
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}

    refused = requests.post(url, json=body, auth=(owner, owner_pw), timeout=10)

    assert refused.status_code == status
    assert reason in refused.json()["error"]
    assert requests.get(url, auth=(owner, owner_pw), timeout=10).json() == []


def test_an_admin_imports_into_any_address_and_anonymous_callers_are_refused(
    server: MurmeliServer,
) -> None:
    admin, admin_pw, _ = user(server, "admin")
    _, owner_pw, owner_email = user(server)
    url = f"{server.url}/api/imports"
    body = {
        "from": "someone@gmx.ch",
        "password": "source-pw",
        "to": owner_email,
        "to_password": owner_pw,
    }

    assert requests.post(url, json=body, timeout=10).status_code == 401
    created = requests.post(url, json=body, auth=(admin, admin_pw), timeout=10)
    assert created.status_code == 201 and created.json()["destination"] == owner_email
