"""Murmeli's state on PostgreSQL instead of SQLite, chosen by configuration alone.

The same server process and CLI as everywhere else, with ``database.url``
pointing at a real PostgreSQL cluster started for this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.murmeli_process import MurmeliServer
from tests.postgres_process import PostgresCluster, server_binaries


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory) -> Iterator[MurmeliServer]:
    binaries = server_binaries()
    assert binaries is not None, "PostgreSQL server binaries missing: ./run-tests installs them"
    cluster = PostgresCluster(binaries)
    url = cluster.start()
    folder = tmp_path_factory.mktemp("pg-murmeli")
    config = folder / "murmeli.yaml"
    config.write_text(f"database:\n  url: {url}\n")
    server = MurmeliServer(folder / "data", config=config).start()
    yield server
    server.stop()
    cluster.stop()


def test_accounts_app_passwords_and_shares_on_postgresql(postgres_server):
    server = postgres_server
    owner = server.add_user("pgowner", teams=("pgteam",))
    member = server.add_user("pgmember", teams=("pgteam",))
    assert requests.request("PROPFIND", f"{server.url}/{owner[0]}/", auth=owner).status_code == 207

    device = requests.post(f"{server.url}/api/app-passwords", json={"label": "phone"}, auth=owner)
    assert device.status_code == 201
    shared = server.cli("share", "add", f"/{owner[0]}/calendar/", "--with", "group:pgteam")
    assert shared.returncode == 0, shared.stderr

    listing = requests.get(f"{server.url}/api/shares", auth=member).json()
    assert [r["path"] for r in listing["received"]] == [f"/{member[0]}/{owner[0]}~calendar/"]
    mapped = requests.get(f"{server.url}/{member[0]}/{owner[0]}~calendar/", auth=member)
    assert mapped.status_code == 200
    assert "BEGIN:VCALENDAR" in mapped.text

    assert server.cli("user", "app-password", "revoke", owner[0], "phone").returncode == 0
    revoked = requests.get(f"{server.url}/api/me", auth=(owner[0], device.json()["password"]))
    assert revoked.status_code == 401
    counted = server.cli("user", "unlock", owner[0])  # the failure was counted in PostgreSQL
    assert counted.returncode == 0 and "forgotten" in counted.stdout
    users = server.cli("user", "list", "--json")
    assert {owner[0], member[0]} <= {user["name"] for user in json.loads(users.stdout)}
