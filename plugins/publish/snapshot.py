"""Rendered feeds kept in memory until their collection changes.

Subscribers poll; most polls find nothing new. Rendering 5,000 events takes a
few hundred milliseconds, so each feed is rendered once per change, plain and
gzipped, and kept with the collection folder's modification time: Radicale
writes, replaces (by rename) and deletes items and properties inside that
folder, so every change moves its mtime, and a poll costs one ``stat``.

Timestamps are coarse (a kernel tick, or seconds on some filesystems): a change
made in the same tick as the rendering could leave the mtime unchanged. So a
rendering whose folder changed less than ``SETTLE_NS`` before it started is
used once and then redone, until the folder has been quiet that long, the way
git treats "racily clean" files. The ETag is a digest of the content, so a
redone rendering that finds nothing new keeps answering 304.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

from radicale import config, pathutils, storage

from plugins.publish import feed

SETTLE_NS = 2_000_000_000
# Feeds of calendars no longer published are not looked up again: the oldest go.
MAX_FEEDS = 64


@dataclass(frozen=True)
class Feed:
    body: bytes
    gzipped: bytes
    etag: str  # weak: one validator for the plain and the gzipped body
    modified: int  # seconds since the epoch
    last_modified: str  # HTTP date


@dataclass(frozen=True)
class _Rendering:
    mtime_ns: int
    settled: bool
    feed: Feed


class Feeds:
    def __init__(self, configuration: config.Configuration) -> None:
        self._storage = storage.load(configuration)
        self._root = os.path.join(
            configuration.get("storage", "filesystem_folder"), "collection-root"
        )
        self._renderings: dict[tuple[str, bool, str], _Rendering] = {}
        self._rendering_lock = threading.Lock()

    def get(self, collection: str, only_busy: bool, token: str = "") -> Feed | None:
        """The current feed of the calendar, or None when it no longer exists. ``token``, the
        link's secret, keys the UIDs of events shown as busy only (feed.busy_uid)."""
        mtime_ns = self._mtime_ns(collection)
        if mtime_ns is None:
            return None
        key = (collection, only_busy, token)
        known = self._renderings.get(key)
        if known is not None and known.settled and known.mtime_ns == mtime_ns:
            return known.feed
        with self._rendering_lock:
            return self._render(key, only_busy)

    def _render(self, key: tuple[str, bool, str], only_busy: bool) -> Feed | None:
        collection, _, token = key
        started_ns = time.time_ns()
        mtime_ns = self._mtime_ns(collection)
        known = self._renderings.get(key)
        if known is not None and known.settled and known.mtime_ns == mtime_ns:
            return known.feed  # another thread rendered it while we waited
        read = self._read(collection)
        if mtime_ns is None or read is None:
            self._renderings.pop(key, None)
            return None
        name, description, items = read
        body = feed.render(items, name, only_busy, description, token.encode()).encode()
        rendered = Feed(
            body=body,
            gzipped=gzip.compress(body, compresslevel=6, mtime=0),
            etag='W/"' + hashlib.sha256(body).hexdigest()[:40] + '"',
            modified=mtime_ns // 1_000_000_000,
            last_modified=formatdate(mtime_ns // 1_000_000_000, usegmt=True),
        )
        settled = started_ns - mtime_ns >= SETTLE_NS
        self._renderings.pop(key, None)
        self._renderings[key] = _Rendering(mtime_ns, settled, rendered)
        if len(self._renderings) > MAX_FEEDS:
            del self._renderings[next(iter(self._renderings))]
        return rendered

    def _read(self, collection: str) -> tuple[str, str | None, list[str]] | None:
        """Name, description and item texts, read under Radicale's shared lock."""
        with self._storage.acquire_lock("r"):
            found = next(iter(self._storage.discover(collection)), None)
            if not isinstance(found, storage.BaseCollection) or found.tag != "VCALENDAR":
                return None
            name = found.get_meta("D:displayname") or collection.strip("/").split("/")[-1]
            description = found.get_meta("C:calendar-description")
            return name, description, [item.serialize() for item in found.get_all()]

    def _mtime_ns(self, collection: str) -> int | None:
        try:
            folder = pathutils.path_to_filesystem(
                self._root, pathutils.sanitize_path(collection).strip("/")
            )
            return os.stat(folder).st_mtime_ns
        except (OSError, ValueError):
            return None
