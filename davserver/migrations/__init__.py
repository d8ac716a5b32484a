"""Murmeli's schema is changed only by the Alembic revisions in ``versions/``, applied on open.

Opening a database brings it to this release's newest revision before anything
reads it (``murmeli serve``, every command, the tests: "migrate on start"):

- a new, empty database gets every revision;
- a database made by release 0.1.0 (its tables, no ``alembic_version``) is
  checked against revision 0001 and stamped with it, then upgraded;
- a database at a revision this release does not know (a newer release made
  it) is refused.

The upgrade runs in one transaction under a lock (SQLite: an exclusive
transaction; PostgreSQL: an advisory lock), so processes opening the database at
the same time upgrade it once; both keep DDL in the transaction, so a failed
upgrade leaves the schema as it was.

Adding a table or a column: change ``davserver/tables.py`` and add the next
revision in ``versions/`` (``NNNN_what.py``; ``down_revision`` is the previous
head) making the same change with ``op.create_table`` or ``op.add_column``, and
changes SQLite cannot ALTER inside ``op.batch_alter_table``; never edit a
released revision. ``tests/test_migrations.py`` fails while the revisions and
``tables.py`` disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

FIRST = "0001"
# Any constant: PostgreSQL advisory locks are named by a 64-bit number ("murmeli").
_LOCK_KEY = int.from_bytes(b"murmeli", "big")


class SchemaError(RuntimeError):
    """The database cannot be brought to this release's schema; the text says why."""


@dataclass(frozen=True)
class Upgrade:
    before: str | None  # None: a new database
    after: str
    adopted: bool  # made by release 0.1.0, stamped with FIRST


def head() -> str:
    return _scripts().get_current_head() or FIRST


def current(url: str) -> str | None:
    """The revision of the database at ``url``; None for one without (or no SQLite file yet,
    which this does not create)."""
    engine = create_engine(url, poolclass=NullPool)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and not Path(database).exists():
        return None
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str) -> Upgrade:
    """Bring the database at ``url`` to ``head()``; what was done."""
    target = head()
    before = current(url)
    if before == target:
        return Upgrade(before, target, adopted=False)
    with _locked(url) as connection:
        before = MigrationContext.configure(connection).get_current_revision()
        adopted = before is None and _adopt_release_0_1_0(connection)
        if adopted:
            before = FIRST
        if before is not None and before not in _known():
            raise SchemaError(
                f"the database is at schema revision {before}, which this release does not know"
                f" (its newest is {target}): a newer Murmeli made it; run that one"
            )
        if before != target:
            config = _config()
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, target)
            except CommandError as error:
                raise SchemaError(f"database upgrade to {target} failed: {error}") from None
    return Upgrade(before, target, adopted)


def _adopt_release_0_1_0(connection: Connection) -> bool:
    """Stamp a database made by 0.1.0 with FIRST, after checking it has that schema;
    False for a database without Murmeli's tables."""
    expected = _scripts().get_revision(FIRST).module.metadata
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    if not present & set(expected.tables):
        return False
    problems = [f"table {name} missing" for name in sorted(set(expected.tables) - present)]
    for name, table in sorted(expected.tables.items()):
        if name in present:
            found = {column["name"] for column in inspector.get_columns(name)}
            problems += [
                f"column {name}.{column} missing" for column in sorted(set(table.c.keys()) - found)
            ]
    if problems:
        raise SchemaError(
            "the database has some of Murmeli's tables but not the schema of release 0.1.0,"
            f" so it is not upgraded: {'; '.join(problems)}"
        )
    MigrationContext.configure(connection).stamp(_scripts(), FIRST)
    return True


@contextmanager
def _locked(url: str) -> Iterator[Connection]:
    """A connection in a transaction that no other upgrade runs beside."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 60} if sqlite else {})
    if sqlite:
        # pysqlite opens transactions only before data changes, so DDL would run outside
        # one; with its handling off, BEGIN EXCLUSIVE locks the file and SQLite keeps the
        # DDL in that transaction (the recipe of SQLAlchemy's SQLite documentation).
        event.listen(engine, "connect", _driver_transactions_off)
        event.listen(
            engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN EXCLUSIVE")
        )
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield connection
    finally:
        engine.dispose()


def _driver_transactions_off(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _known() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}
