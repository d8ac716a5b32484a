"""Adding thousands of new items to one Radicale collection at once, crash-safe.

Radicale's ``upload`` writes each item atomically with two fsyncs (item and item
cache) and a history entry: about 5 ms an item, 50 s for 10,000 contacts. Here
the same files are written as Radicale's multifilesystem storage lays them out
(item file, item cache entry, history entry), each one atomically as Radicale
writes it (a temporary file, made durable, renamed into place), but synced once
for the whole batch:

1. what a batch interrupted by a crash left behind (hidden staging folders,
   which Radicale ignores) is removed;
2. every file is written into a hidden staging folder beside its final place;
3. one ``os.sync()`` makes them durable (when ``filesystem_fsync`` is on);
4. the item cache entries are renamed into place, then the history entries,
   then the item files; each folder is synced once.

So every file Radicale can see is whole at any moment. A crash, even
``kill -9``, leaves complete items, each with its cache and history entry, and
perhaps cache and history entries whose item never came, which Radicale reads
as those of a deleted item. A failure (an exception) also removes what was
already renamed, so nothing of the batch stays. The caller holds Radicale's
write lock, so no one else writes meanwhile; the pre-written cache and history
entries are what ``upload`` would have written, so the first sync-collection
after the import reports the new items without rebuilding anything.

A new collection (``create_with_vcards``) is filled in a hidden temporary
folder and renamed into place as a whole, as Radicale's ``create_collection``
does: a crash leaves no half-made address book.
"""

from __future__ import annotations

import binascii
import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from radicale import item as radicale_item
from radicale import pathutils
from radicale.item import filter as radicale_filter

# What Radicale's item cache records for a vCard: its name, no component, no time range.
_VCARD_CACHE_FIELDS = ("VCARD", "", radicale_filter.TIMESTAMP_MIN, radicale_filter.TIMESTAMP_MAX)
# Hidden (Radicale skips names starting with a dot), and told apart from Radicale's own
# ``.Radicale.tmp-`` folders: only a batch of ours writes them, under the write lock.
STAGING_PREFIX = ".Radicale.tmp-import-"


class NewItem(NamedTuple):
    """One item to add: its file name in the collection, its UID and its text."""

    href: str
    uid: str
    text: str


def insert_vcards(collection, items: Iterable[NewItem]) -> None:
    """Write ``items`` (vCards whose hrefs are not yet in the multifilesystem ``collection``)."""
    items = _checked(items)
    storage = collection._storage
    folder = collection._filesystem_path
    cache_folder, history_folder = _cache_folders(collection)
    targets = (cache_folder, history_folder, folder)  # the order of the renames
    for target in targets:
        storage._makedirs_synced(target)
        _remove_leftovers(target)
    staging = {target: tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target) for target in targets}
    placed: list[str] = []
    try:
        _write(collection, items, staging[folder], staging[cache_folder], staging[history_folder])
        if storage._filesystem_fsync:
            os.sync()
        for target in targets:
            for item in items:
                os.rename(os.path.join(staging[target], item.href), os.path.join(target, item.href))
                placed.append(os.path.join(target, item.href))
        for target in targets:
            storage._sync_directory(target)
    except BaseException:
        for path in placed:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        raise
    finally:
        for folder_staged in staging.values():
            shutil.rmtree(folder_staged, ignore_errors=True)


def create_with_vcards(
    storage, path: str, props: Mapping[str, str], items: Iterable[NewItem]
) -> None:
    """A new collection at ``path`` (nothing there yet) with ``props`` and ``items``: built in
    a hidden folder beside its place and renamed there once complete."""
    items = _checked(items)
    sane_path = pathutils.strip_path(path)
    root = storage._get_collection_root_folder()
    target = pathutils.path_to_filesystem(root, sane_path, storage._is_collision_free)
    parent = os.path.dirname(target)
    storage._makedirs_synced(parent)
    _remove_leftovers(parent)
    with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=parent) as temporary:
        folder = os.path.join(temporary, "collection")
        os.mkdir(folder)
        collection = storage._collection_class(
            storage, pathutils.unstrip_path(sane_path, True), filesystem_path=folder
        )
        collection.set_meta(dict(props))
        # Cache folders kept apart from the collection (``use_cache_subfolder_for_*``)
        # would not move with it: Radicale then builds those entries on first read.
        cache_folder, history_folder = (
            cache if cache.startswith(folder + os.sep) else None
            for cache in _cache_folders(collection)
        )
        for cache in filter(None, (cache_folder, history_folder)):
            os.makedirs(cache)
        _write(collection, items, folder, cache_folder, history_folder)
        if storage._filesystem_fsync:
            os.sync()
        os.rename(folder, target)
        storage._sync_directory(parent)


def _checked(items: Iterable[NewItem]) -> list[NewItem]:
    items = list(items)
    for item in items:
        if not pathutils.is_safe_filesystem_path_component(item.href):
            raise pathutils.UnsafePathError(item.href)
    return items


def _cache_folders(collection) -> tuple[str, str]:
    """Where Radicale keeps the collection's item cache and history entries."""
    storage, folder = collection._storage, collection._filesystem_path
    return (
        storage._get_collection_cache_subfolder(folder, ".Radicale.cache", "item"),
        storage._get_collection_cache_subfolder(folder, ".Radicale.cache", "history"),
    )


def _remove_leftovers(folder: str) -> None:
    """Staging folders of a batch a crash interrupted: under the write lock, no batch runs."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)


def _write(
    collection,
    items: list[NewItem],
    item_folder: str,
    cache_folder: str | None,
    history_folder: str | None,
) -> None:
    """The item files, their item cache and history entries (each left out when its folder
    is None).

    One thread per folder: creating files is the whole cost, and on a busy disk
    three folders filled side by side finish far sooner than one after another.
    """
    raws = {item.href: item.text.encode(collection._encoding) for item in items}
    etags = {item.href: radicale_item.get_etag(item.text) for item in items}
    by_mtime = collection._storage._use_mtime_and_size_for_item_cache
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [pool.submit(create_all, item_folder, raws)]
        if history_folder is not None:
            jobs.append(pool.submit(create_all, history_folder, _history_entries(etags)))
        if cache_folder is not None and not by_mtime:
            cache = cache_entries(collection, items, raws, etags, item_folder)
            jobs.append(pool.submit(create_all, cache_folder, cache))
        for job in jobs:
            job.result()
    if cache_folder is not None and by_mtime:  # keyed by the item file's size and time,
        # which the rename keeps
        create_all(cache_folder, cache_entries(collection, items, raws, etags, item_folder))


def cache_entries(
    collection, items: list[NewItem], raws: dict[str, bytes], etags: dict[str, str], folder: str
) -> dict[str, bytes]:
    entries = {}
    for item in items:
        if collection._storage._use_mtime_and_size_for_item_cache:
            stat = os.stat(os.path.join(folder, item.href))
            cache_hash = collection._item_cache_mtime_and_size(stat.st_size, stat.st_mtime_ns)
        else:
            cache_hash = collection._item_cache_hash(raws[item.href])
        content = (cache_hash, item.uid, etags[item.href], item.text, *_VCARD_CACHE_FIELDS)
        entries[item.href] = pickle.dumps(content)
    return entries


def _history_entries(etags: dict[str, str]) -> dict[str, bytes]:
    """A fresh history etag per item, seeded at random as Radicale seeds a new item's."""
    entries = {}
    for href, etag in etags.items():
        seed = binascii.hexlify(os.urandom(16)).decode("ascii")
        history_etag = radicale_item.get_etag(seed + "/" + etag).strip('"')
        entries[href] = pickle.dumps([etag, history_etag])
    return entries


def create_all(folder: str, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        _create(os.path.join(folder, name), content)


def _create(path: str, content: bytes) -> None:
    """Half the cost of ``open()`` for thousands of small files; only ever in a folder no
    reader looks into (staging, or a collection not yet in place)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        os.write(descriptor, content)
    finally:
        os.close(descriptor)
