"""Replacing, adding and removing many vCards of one Radicale collection at once.

Radicale's ``upload`` and ``delete`` each sync two or three files, and then
scan the collection's whole history folder for expired entries: merging 4,000
duplicate groups of a 10,000-card address book made 8,000 such scans of
10,000 entries, minutes under the storage's global write lock. Here the files
are written as Radicale's multifilesystem storage lays them out (item file,
item cache, history entry, see ``bulk_insert``), synced once for the whole
batch:

1. the new item files are written into a hidden staging folder inside the
   collection (Radicale ignores names starting with a dot), their item cache
   and history entries over the old ones, in place;
2. one ``os.sync()`` makes all of it durable (when ``filesystem_fsync`` is on);
3. each staged item file is renamed over its item, each removed item deleted
   (then its cache entry), and each folder synced once.

A rename replaces a file atomically, so a reader, or a crash at any moment,
finds each item either as it was or as written, never torn. Cache and history
entries written ahead of their item are harmless: Radicale uses a cache entry
only when its hash matches the item file, and recomputes a history entry whose
etag is not the item's. They are overwritten without truncating first, and a
new one is renamed into place, so a crash never leaves one empty (which
Radicale could not read); a shorter new entry leaves old bytes after its end,
which unpickling does not read. Files
replaced or removed are what costs most on a busy disk (freeing their blocks),
so entries are overwritten rather than replaced.

The batch as a whole is not atomic: a crash during step 3 leaves part of it
written. Callers that must be able to put everything back record how before
they call (the duplicate finder's undo journal). The caller holds Radicale's
write lock.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping

from radicale import item as radicale_item
from radicale import pathutils

from davserver.bulk_insert import NewItem, cache_entries, create_all

# Staging folders and new entries on their way in; ones a crash left behind are
# removed by the next batch (under the same write lock, so none is in use).
_TEMPORARY = ".Radicale.tmp-replace-"


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
    _remove_leftovers((folder, cache_folder, history_folder))
    raws = {item.href: item.text.encode(collection._encoding) for item in put}
    etags = {item.href: radicale_item.get_etag(item.text) for item in put}
    history = _history_entries(history_folder, {**etags, **dict.fromkeys(delete, "")})
    with _staging(folder) as item_stage:
        create_all(item_stage, raws)
        _overwrite_all(cache_folder, cache_entries(collection, put, raws, etags, item_stage))
        _overwrite_all(history_folder, history)
        if storage._filesystem_fsync:
            os.sync()
        for href in raws:
            os.replace(os.path.join(item_stage, href), os.path.join(folder, href))
    _remove(folder, delete)
    _remove(cache_folder, delete)
    for synced in (folder, cache_folder, history_folder):
        storage._sync_directory(synced)


def first_changed(collection, expect: Mapping[str, str | None]) -> str | None:
    """The first href of ``expect`` whose item is no longer that text (None: absent).

    Compares the item files' bytes: a tenth of the cost of loading each item
    through Radicale, which matters under the write lock."""
    stored = stored_texts(collection, expect)
    return next((href for href, text in expect.items() if stored[href] != text), None)


def stored_texts(collection, hrefs: Iterable[str]) -> dict[str, str | None]:
    """Each item file's text as written (None: absent). Radicale serves an item from its
    cache, or re-serialised when the cache is stale: only the file says what was written."""
    texts: dict[str, str | None] = {}
    for href in hrefs:
        if not pathutils.is_safe_filesystem_path_component(href):
            raise pathutils.UnsafePathError(href)
        try:
            with open(os.path.join(collection._filesystem_path, href), "rb") as file:
                texts[href] = file.read().decode(collection._encoding)
        except FileNotFoundError:
            texts[href] = None
    return texts


def _remove(folder: str, hrefs: list[str]) -> None:
    for href in hrefs:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(folder, href))


def _remove_leftovers(folders: tuple[str, ...]) -> None:
    for folder in folders:
        for entry in os.scandir(folder):
            if entry.name.startswith(_TEMPORARY):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.remove(entry.path)


@contextlib.contextmanager
def _staging(folder: str) -> Iterator[str]:
    staging = tempfile.mkdtemp(prefix=_TEMPORARY, dir=folder)
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


def _overwrite_all(folder: str, files: dict[str, bytes]) -> None:
    """Each file's content written over the old one, in place; a new file is written
    under a hidden name first and renamed, so that it is never seen empty."""
    for name, content in files.items():
        try:
            descriptor = os.open(os.path.join(folder, name), os.O_WRONLY)
        except FileNotFoundError:
            descriptor, temporary = tempfile.mkstemp(prefix=_TEMPORARY, dir=folder)
            _write(descriptor, content)
            os.replace(temporary, os.path.join(folder, name))
        else:
            _write(descriptor, content)


def _write(descriptor: int, content: bytes) -> None:
    try:
        os.write(descriptor, content)
    finally:
        os.close(descriptor)
