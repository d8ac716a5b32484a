"""The only writes the importer makes to the destination: create missing folders, append.

Existing folders and messages are never changed: no STORE, no EXPUNGE, no
DELETE, no RENAME.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from importer.summaries import MessageSummary

log = logging.getLogger(__name__)


def ensure_folder(client: IMAPClient, name: str, delimiter: str) -> None:
    """Creates ``name`` and its missing parents, subscribed, so the tree shows in every client."""
    parts = name.split(delimiter)
    for depth in range(1, len(parts) + 1):
        path = delimiter.join(parts[:depth])
        if not _selectable(client, path):
            client.create_folder(path)
            client.subscribe_folder(path)


def _selectable(client: IMAPClient, path: str) -> bool:
    """Whether ``path`` exists as a real folder, not only as the parent of one (``\\Noselect``)."""
    unusable = {b"\\noselect", b"\\nonexistent"}
    return any(
        name == path and not unusable & {flag.lower() for flag in flags}
        for flags, _, name in client.list_folders("", path)
    )


def append_messages(
    client: IMAPClient, folder: str, messages: Sequence[tuple[MessageSummary, bytes]]
) -> list[MessageSummary]:
    """Appends each message with its flags and INTERNALDATE; returns those the server took.

    One MULTIAPPEND when offered: it is all-or-nothing (RFC 3502), so after a
    refusal the batch is retried one by one to find the message refused, with
    no risk of doubles. A dropped connection propagates: the caller resumes.
    """
    if len(messages) > 1 and b"MULTIAPPEND" in client.capabilities():
        try:
            client.multiappend(
                folder,
                [
                    {"msg": body, "flags": summary.flags, "date": summary.internal_date}
                    for summary, body in messages
                ],
            )
            return [summary for summary, _ in messages]
        except IMAPClientAbortError:
            raise
        except IMAPClientError as refusal:
            log.info("MULTIAPPEND to %r refused (%s); appending one by one", folder, refusal)
    appended = []
    for summary, body in messages:
        try:
            client.append(folder, body, summary.flags, summary.internal_date)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as refusal:
            log.warning("message %s refused by %r: %s", summary.uid, folder, refusal)
            continue
        appended.append(summary)
    return appended
