"""The ``murmeli contacts`` command that several contact plugins share.

Each plugin (``contacts_import``, ``duplicates``) adds its own action under it;
whichever registers first creates the ``contacts`` parser, the others get the
same action list, so the order of ``COMMAND_MODULES`` does not matter.
"""

from __future__ import annotations

import argparse
import weakref

_contacts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def contacts_actions(subcommands, common: argparse.ArgumentParser):
    """The ``add_subparsers`` object of ``murmeli contacts``, created on first call."""
    if subcommands not in _contacts:
        contacts = subcommands.add_parser("contacts", help="import and de-duplicate contacts")
        _contacts[subcommands] = contacts.add_subparsers(
            dest="action", required=True, metavar="ACTION"
        )
    return _contacts[subcommands]
