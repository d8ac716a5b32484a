"""``murmeli db upgrade|current``: the schema revision of the database, and its upgrade.

Opening the database upgrades it anyway (``davserver/migrations``); ``upgrade``
does it on purpose, e.g. before starting several servers on one PostgreSQL, and
reports what needs an operator's hand afterwards (users with reserved names).
``current`` only reads.
"""

from __future__ import annotations

import argparse
import sys

from davserver import migrations
from davserver.accounts.directory import reserved_name_notice
from davserver.command_line import load_services


def register(subcommands, common: argparse.ArgumentParser) -> None:
    database = subcommands.add_parser("db", help="the database's schema revision and its upgrade")
    actions = database.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = actions.add_parser(
        "upgrade", parents=[common], help="bring the schema to this release's revision"
    )
    upgrade.set_defaults(handler=upgrade_database)
    current = actions.add_parser(
        "current", parents=[common], help="show the schema revision, changing nothing"
    )
    current.set_defaults(handler=show_revision)


def upgrade_database(args: argparse.Namespace) -> int:
    services = load_services(args)
    services.settings.server.data.mkdir(parents=True, exist_ok=True)
    done = migrations.upgrade(services.database_url)
    if done.adopted:
        print(f"database of release 0.1.0 recognised as schema revision {migrations.FIRST}")
    if done.before == done.after:
        print(f"schema revision {done.after}: up to date")
    else:
        print(f"schema upgraded from {done.before or 'nothing'} to {done.after}")
    for name in services.directory.reserved_names_taken():
        print(f"warning: {reserved_name_notice(name)}", file=sys.stderr)
    return 0


def show_revision(args: argparse.Namespace) -> int:
    revision = migrations.current(load_services(args).database_url)
    newest = migrations.head()
    if revision == newest:
        print(f"schema revision {revision}: up to date")
    else:
        print(f"schema revision {revision or 'none'}; this release's is {newest}")
        print("run `murmeli db upgrade` (or start the server) to upgrade it")
    return 0
