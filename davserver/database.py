"""Murmeli's own state behind one SQLAlchemy Core engine: SQLite by default, PostgreSQL by URL.

One ``Database`` per URL per process, shared by the HTTP routes and the
Radicale plugins, so every part sees the same connection pool. Opening one
brings its schema to this release's (``davserver/migrations``).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, insert, update
from sqlalchemy.engine import Connection

from davserver import migrations
from davserver.private_files import private_file

logger = logging.getLogger("murmeli.database")

_open: dict[str, Database] = {}
_open_lock = threading.Lock()


def default_url(data: Path) -> str:
    return f"sqlite:///{(data / 'murmeli.sqlite3').resolve()}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            if self.engine.url.database not in (None, "", ":memory:"):
                private_file(Path(self.engine.url.database))
            with self.engine.connect():  # the file in WAL mode before the upgrade opens it
                pass
        done = migrations.upgrade(url)
        if done.adopted:
            logger.info("database of release 0.1.0 recognised: schema revision %s", done.before)
        if done.before is None:
            logger.info("new database: schema revision %s", done.after)
        elif done.before != done.after:
            logger.info("database schema upgraded from %s to %s", done.before, done.after)

    def transaction(self) -> Connection:
        """A connection in a transaction: committed on leaving ``with``, rolled back on error."""
        return self.engine.begin()

    def reader(self) -> Connection:
        return self.engine.connect()


def upsert(
    connection: Connection,
    table: Table,
    key: dict[str, Any],
    changes: dict[str, Any],
    on_insert: dict[str, Any] | None = None,
) -> None:
    """Update the row with ``key``, or insert it (with ``on_insert`` too).

    Plain UPDATE then INSERT in the caller's transaction: portable, where each
    database spells "ON CONFLICT" its own way.
    """
    matches = [table.c[name] == value for name, value in key.items()]
    if not connection.execute(update(table).where(*matches).values(**changes)).rowcount:
        connection.execute(insert(table).values(**key, **changes, **(on_insert or {})))


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the server read while a CLI command writes; the timeout makes
    # a concurrent writer wait instead of failing with "database is locked".
    # The timeout comes first: switching a new file to WAL takes a lock that a
    # second process opening it at the same moment must wait for.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_database(url: str) -> Database:
    with _open_lock:
        if url not in _open:
            _open[url] = Database(url)
        return _open[url]
