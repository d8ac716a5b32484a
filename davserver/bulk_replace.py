"""Replacing, adding and removing many vCards of one Radicale collection at once.

Radicale's ``upload`` and ``delete`` each sync two or three files, and then
scan the collection's whole history folder for expired entries: merging 4,000
duplicate groups of a 10,000-card address book made 8,000 such scans of
10,000 entries, minutes under the storage's global write lock. Here the files
are written as Radicale's multifilesystem storage lays them out (item file,
item cache, history entry, see ``bulk_insert``), each synced once for the
whole batch:

1. the new item files, their item cache and history entries are written into
   hidden staging folders (Radicale ignores names starting with a dot), one
   inside each folder they go to;
2. one ``os.sync()`` makes them durable (when ``filesystem_fsync`` is on);
3. each staged file is renamed over its target and each removed item deleted,
   then each folder is synced once.

A rename replaces a file atomically, so a reader, or a crash at any moment,
finds each item either as it was or as written, never torn, and the item
cache and history entries are checked against the item they describe before
Radicale uses them. The batch as a whole is not atomic: a crash during step 3
leaves part of it written. Callers that must be able to put everything back
record how before they call (the duplicate finder's undo journal). The
caller holds Radicale's write lock.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator

from radicale import item as radicale_item
from radicale import pathutils

from davserver.bulk_insert import NewItem, _cache_entries, _create_all, _remove


def replace_vcards(collection, put: list[NewItem], delete: list[str]) -> None:
    """Store ``put`` (over an item of the same href, or as a new one) and remove ``delete``."""
    for href in [*(item.href for item in put), *delete]:
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
    storage = collection._storage
    folder = collection._filesystem_path
    cache_folder = storage._get_collection_cache_subfolder(folder, ".Radicale.cache", "item")
    history_folder = storage._get_collection_cache_subfolder(folder, ".Radicale.cache", "history")
    for needed in (cache_folder, history_folder):
        storage._makedirs_synced(needed)
    raws = {item.href: item.text.encode(collection._encoding) for item in put}
    etags = {item.href: radicale_item.get_etag(item.text) for item in put}
    history = _history_entries(history_folder, {**etags, **dict.fromkeys(delete, "")})
    with (
        _staging(folder) as item_stage,
        _staging(cache_folder) as cache_stage,
        _staging(history_folder) as history_stage,
    ):
        _create_all(item_stage, raws)
        _create_all(cache_stage, _cache_entries(collection, put, raws, etags, item_stage))
        _create_all(history_stage, history)
        if storage._filesystem_fsync:
            os.sync()
        _move_all(item_stage, folder, raws)
        _remove(folder, delete)
        _move_all(cache_stage, cache_folder, raws)
        _remove(cache_folder, delete)
        _move_all(history_stage, history_folder, history)
    for synced in (folder, cache_folder, history_folder):
        storage._sync_directory(synced)


@contextlib.contextmanager
def _staging(folder: str) -> Iterator[str]:
    staging = tempfile.mkdtemp(prefix=".Radicale.tmp-replace-", dir=folder)
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _history_entries(history_folder: str, etags: dict[str, str]) -> dict[str, bytes]:
    """What Radicale's ``_update_history_etag`` writes for each changed item: its etag
    ("" once removed) and a history etag chained on the previous one."""
    entries = {}
    for href, etag in etags.items():
        try:
            with open(os.path.join(history_folder, href), "rb") as file:
                cached_etag, previous = pickle.load(file)
        except (FileNotFoundError, EOFError, pickle.UnpicklingError, ValueError):
            cached_etag, previous = None, binascii.hexlify(os.urandom(16)).decode("ascii")
        if etag != cached_etag:
            history_etag = radicale_item.get_etag(previous + "/" + etag).strip('"')
            entries[href] = pickle.dumps([etag, history_etag])
    return entries


def _move_all(staging: str, folder: str, names: dict) -> None:
    for name in names:
        os.replace(os.path.join(staging, name), os.path.join(folder, name))
