"""``murmeli serve`` and ``murmeli user ...``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

from config.schema import listen
from davserver import logs
from davserver.accounts.directory import ROLES
from davserver.accounts.lockout import ACCOUNT, ADDRESS
from davserver.command_line import (
    UsageError,
    load_services,
    load_settings,
    print_table,
    read_password,
)
from davserver.services import Services


def register(subcommands, common: argparse.ArgumentParser) -> None:
    serve = subcommands.add_parser("serve", parents=[common], help="run the CalDAV/CardDAV server")
    serve.add_argument("--listen", metavar="HOST:PORT", help="override server.listen")
    serve.set_defaults(handler=run_server)

    user = subcommands.add_parser("user", help="manage users, roles, teams and app passwords")
    actions = user.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", parents=[common], help="create a user")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--no-password", action="store_true", help="log in with app passwords only")
    add.add_argument("--email")
    add.add_argument("--role", choices=ROLES, default="collaborator")
    add.add_argument("--group", action="append", default=[], metavar="TEAM", help="repeatable")
    add.set_defaults(handler=add_user)

    passwd = actions.add_parser("passwd", parents=[common], help="change a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(handler=change_password)

    remove = actions.add_parser("remove", parents=[common], help="delete a user's account")
    remove.add_argument("name")
    remove.set_defaults(handler=remove_user)

    listing = actions.add_parser("list", parents=[common], help="list users")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_users)

    role = actions.add_parser("role", parents=[common], help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    role.set_defaults(handler=lambda a: load_services(a).directory.set_role(a.name, a.role))

    join = actions.add_parser("join", parents=[common], help="add a user to a team")
    join.add_argument("name")
    join.add_argument("team")
    join.set_defaults(handler=lambda a: load_services(a).directory.join(a.name, a.team))

    leave = actions.add_parser("leave", parents=[common], help="remove a user from a team")
    leave.add_argument("name")
    leave.add_argument("team")
    leave.set_defaults(handler=lambda a: load_services(a).directory.leave(a.name, a.team))

    unlock = actions.add_parser(
        "unlock", parents=[common], help="lift a lock-out after failed logins"
    )
    target = unlock.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", help="the account (or the login as it was typed)")
    target.add_argument("--address", help="a client address instead of an account")
    unlock.set_defaults(handler=unlock_logins)

    _register_app_passwords(actions, common)


def _register_app_passwords(actions, common: argparse.ArgumentParser) -> None:
    app = actions.add_parser("app-password", help="per-device passwords")
    verbs = app.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", parents=[common], help="create one; printed once")
    add.add_argument("name")
    add.add_argument("--label", required=True, help="the device, e.g. iphone")
    add.set_defaults(handler=add_app_password)
    listing = verbs.add_parser("list", parents=[common], help="list a user's app passwords")
    listing.add_argument("name")
    listing.set_defaults(handler=list_app_passwords)
    revoke = verbs.add_parser("revoke", parents=[common], help="revoke one, by id or label")
    revoke.add_argument("name")
    revoke.add_argument("id_or_label")
    revoke.set_defaults(
        handler=lambda a: load_services(a).app_passwords.revoke(a.name, a.id_or_label)
    )


def run_server(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.listen:
        try:
            address = listen(args.listen)
        except ValueError as error:
            raise UsageError(f"--listen: {error}") from None
        settings = dataclasses.replace(
            settings, server=dataclasses.replace(settings.server, listen=address)
        )
    from davserver import server  # every feature and the OpenPGP stack: only for serving

    logs.configure(settings.server.log_level)
    server.serve(Services(settings))
    return 0


def add_user(args: argparse.Namespace) -> int:
    password = None if args.no_password else read_password(args.password_stdin)
    user = load_services(args).directory.add(
        args.name, password, args.role, args.email, tuple(args.group)
    )
    print(f"added user {user.name} ({user.role})")
    return 0


def change_password(args: argparse.Namespace) -> int:
    load_services(args).directory.set_password(args.name, read_password(args.password_stdin))
    print(f"password of {args.name} changed")
    return 0


def remove_user(args: argparse.Namespace) -> int:
    load_services(args).directory.remove(args.name)
    print(f"removed user {args.name}; their collections stay on disk until deleted")
    return 0


def list_users(args: argparse.Namespace) -> int:
    users = load_services(args).directory.list()
    if args.json:
        print(json.dumps([dataclasses.asdict(user) for user in users], indent=1))
        return 0
    rows = [("NAME", "ROLE", "EMAIL", "TEAMS")]
    rows += [(u.name, u.role, u.email or "-", ",".join(u.teams) or "-") for u in users]
    print_table(rows)
    return 0


def unlock_logins(args: argparse.Namespace) -> int:
    kind, key = (ADDRESS, args.address) if args.address else (ACCOUNT, args.name)
    lifted = load_services(args).login_lockout.unlock(kind, key)
    print(f"{kind} {key}: " + ("failed logins forgotten" if lifted else "no failed logins"))
    return 0


def add_app_password(args: argparse.Namespace) -> int:
    entry, password = load_services(args).app_passwords.add(args.name, args.label)
    print(f"app password {entry.id} for {args.name} ({entry.label}); it is shown only once:")
    print(password)
    return 0


def list_app_passwords(args: argparse.Namespace) -> int:
    services: Services = load_services(args)
    services.directory.get(args.name)
    rows = [("ID", "LABEL", "CREATED")]
    rows += [
        (p.id, p.label, time.strftime("%Y-%m-%d %H:%M", time.localtime(p.created_at)))
        for p in services.app_passwords.list(args.name)
    ]
    print_table(rows)
    return 0
