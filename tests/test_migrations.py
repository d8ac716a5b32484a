"""The schema under Alembic revisions: new databases, databases of release 0.1.0, SQLite and
PostgreSQL, each then served by a real ``murmeli serve``.

``tests/data/release-0.1.0-*.sql`` is the DDL release 0.1.0 (commit ee848d8) issued
with ``metadata.create_all``, compiled for each database by SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from davserver import migrations
from davserver.accounts.secrets import hash_secret
from davserver.database import Database
from davserver.tables import metadata
from tests.murmeli_process import MurmeliServer
from tests.postgres_process import PostgresCluster, server_binaries

DATA = Path(__file__).parent / "data"
PASSWORD = "old-release-password"
OLD_LINK = "v1/" + "L" * 44  # a public link 0.1.0 stored in clear


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    binaries = server_binaries()
    assert binaries is not None, "PostgreSQL server binaries missing: ./run-tests installs them"
    cluster = PostgresCluster(binaries)
    cluster.start()
    yield cluster
    cluster.stop()


def new_postgres_database(cluster: PostgresCluster) -> str:
    name = f"m{uuid.uuid4().hex[:12]}"
    base = f"postgresql+psycopg://murmeli@127.0.0.1:{cluster.port}"
    engine = create_engine(f"{base}/murmeli", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{base}/{name}"


def made_by_release_0_1_0(url: str, user: str) -> None:
    """The tables 0.1.0 created, and a user it added."""
    engine = create_engine(url)
    script = (DATA / f"release-0.1.0-{engine.dialect.name}.sql").read_text()
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.connection.executescript(script)
        else:
            connection.exec_driver_sql(script)
        connection.execute(
            text(
                "INSERT INTO users (name, role, password_hash, created_at)"
                " VALUES (:name, 'admin', :hash, 1767225600)"
            ),
            {"name": user, "hash": hash_secret(PASSWORD)},
        )
        connection.execute(
            text(
                "INSERT INTO published_calendars (collection, owner, token, mode, created_at)"
                " VALUES (:collection, :owner, :token, 'full', 1767225600)"
            ),
            {"collection": f"/{user}/calendar/", "owner": user, "token": OLD_LINK},
        )
    engine.dispose()


def stored_links(url: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM published_calendars")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def schema_differences(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    return differences


def serve_and_log_in(folder: Path, url: str, user: str) -> MurmeliServer:
    config = folder / "murmeli.yaml"
    config.write_text(f"database:\n  url: {url}\n")
    server = MurmeliServer(folder / "data", config=config).start()
    try:
        home = requests.request(
            "PROPFIND", f"{server.url}/{user}/", auth=(user, PASSWORD), headers={"Depth": "0"}
        )
        assert home.status_code == 207
        feed = requests.get(f"{server.url}/.token/{OLD_LINK}/")
        assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text  # the link still works
        assert OLD_LINK not in repr(stored_links(url))  # sealed on start, no longer in clear
        assert server.add_user("new")  # the upgraded tables take new rows
        current = server.cli("db", "current")
        assert current.returncode == 0, current.stderr
        assert f"schema revision {migrations.head()}: up to date" in current.stdout
    finally:
        server.stop()
    server.assert_log_clean()
    return server


def test_a_new_database_gets_every_revision_and_matches_tables_py(tmp_path):
    """Fails when a table or column is added to tables.py without a revision."""
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    Database(url)
    assert migrations.current(url) == migrations.head()
    assert schema_differences(url) == []


def test_a_sqlite_database_of_release_0_1_0_is_upgraded_and_served(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    made_by_release_0_1_0(url, "olduser")
    assert migrations.current(url) is None

    server = serve_and_log_in(tmp_path, url, "olduser")
    assert any("database of release 0.1.0 recognised" in line for line in server.log)
    assert schema_differences(url) == []


def test_a_postgresql_database_of_release_0_1_0_is_upgraded_and_served(tmp_path, postgres):
    url = new_postgres_database(postgres)
    made_by_release_0_1_0(url, "pgolduser")

    server = serve_and_log_in(tmp_path, url, "pgolduser")
    assert any("database of release 0.1.0 recognised" in line for line in server.log)
    assert schema_differences(url) == []


def test_a_new_postgresql_database_matches_tables_py(postgres):
    url = new_postgres_database(postgres)
    assert migrations.upgrade(url).after == migrations.head()
    assert schema_differences(url) == []


def test_db_upgrade_command_reports_what_it_did(tmp_path):
    murmeli = MurmeliServer(tmp_path / "data")
    murmeli.data.mkdir()
    made_by_release_0_1_0(f"sqlite:///{murmeli.data / 'murmeli.sqlite3'}", "cmduser")
    before = murmeli.cli("db", "current")
    assert before.returncode == 0, before.stderr
    assert f"schema revision none; this release's is {migrations.head()}" in before.stdout
    upgraded = murmeli.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database of release 0.1.0 recognised as schema revision 0001" in upgraded.stdout
    again = murmeli.cli("db", "upgrade")
    assert f"schema revision {migrations.head()}: up to date" in again.stdout


def test_db_current_creates_no_database(tmp_path):
    murmeli = MurmeliServer(tmp_path / "data")
    shown = murmeli.cli("db", "current")
    assert shown.returncode == 0, shown.stderr
    assert "schema revision none" in shown.stdout
    assert not murmeli.data.exists()


def test_a_database_with_part_of_the_schema_is_refused_untouched(tmp_path):
    database = tmp_path / "partial.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE users (name VARCHAR(64) PRIMARY KEY)")
    with pytest.raises(migrations.SchemaError, match=r"table teams missing.*users\.email missing"):
        migrations.upgrade(f"sqlite:///{database}")
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert tables == {"users", "sqlite_autoindex_users_1"}


def test_a_database_of_a_newer_release_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    Database(url)
    with sqlite3.connect(tmp_path / "newer.sqlite3") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(migrations.SchemaError, match="9999, which this release does not know"):
        migrations.upgrade(url)
