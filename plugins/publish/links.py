"""The published-calendar records: one secret link per calendar, its mode, its owner.

A public link is an address the owner pastes into other services and must be
able to see again (as hosted suites show it), so its token is kept twice, and
neither opens the calendar by itself: its SHA-256, by which a subscriber's
request finds the row, and a copy sealed with AES-256-GCM under a key file in
the data folder (mode 0600, the collection as associated data), which only the
owner's listing opens. A database dump or backup alone holds no working link.
Turning a link off deletes its row, so the next request for it finds nothing:
404 at once.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from radicale.sharing import TOKEN_PATTERN_V1
from sqlalchemy import delete, select, update

from davserver.accounts.directory import AccountError
from davserver.accounts.secrets import token_digest
from davserver.collections import Collections
from davserver.database import Database, upsert
from davserver.settings import ServerSettings
from davserver.tables import published_calendars, users
from importer.credentials import Credentials
from plugins.sharing.shares import collection_owner, normalise_collection

MODES = ("full", "busy-only")
TOKEN_PREFIX = "/.token/"
KEY_FILE = "publish-links.key"
_TOKEN = re.compile(TOKEN_PATTERN_V1)
_PURPOSE = "public link"


def new_token() -> str:
    """Radicale's v1 token form: ``v1/`` and 44 url-safe characters, here 264 random bits."""
    return "v1/" + secrets.token_urlsafe(33)


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def base_url(server: ServerSettings, environ: dict | None = None) -> str:
    """Where subscribers reach this server: ``server.base_url``, else the address the
    request came to, else the address the server listens on."""
    if server.base_url:
        return server.base_url.rstrip("/")
    scheme = "https" if server.tls.certificate else "http"
    if environ is not None and environ.get("HTTP_HOST"):
        return f"{environ.get('wsgi.url_scheme', scheme)}://{environ['HTTP_HOST']}"
    return f"{scheme}://{server.listen}"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise AccountError(f"invalid mode {mode!r}: expected one of {', '.join(MODES)}")
    return mode


@dataclass(frozen=True)
class Link:
    collection: str
    owner: str
    token: str
    mode: str
    created_at: int

    @property
    def busy_only(self) -> bool:
        return self.mode == "busy-only"

    @property
    def path(self) -> str:
        return f"{TOKEN_PREFIX}{self.token}/"

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path

    def webcal(self, base_url: str) -> str:
        """The same link for calendar apps: ``webcal://`` makes them offer to subscribe."""
        return urlunsplit(urlsplit(self.url(base_url))._replace(scheme="webcal"))

    def as_json(self, base_url: str) -> dict:
        return {
            "collection": self.collection,
            "mode": self.mode,
            "url": self.url(base_url),
            "webcal": self.webcal(base_url),
            "created_at": self.created_at,
        }


class PublishedCalendars:
    def __init__(self, database: Database, collections: Collections, sealer: Credentials) -> None:
        """``sealer`` keeps the tokens' sealed copies (its key file: ``KEY_FILE``)."""
        self._db = database
        self._collections = collections
        self._sealer = sealer
        self._seal_upgraded_links()

    def _seal_upgraded_links(self) -> None:
        """Links of release 0.1.0 came through the upgrade in clear: sealed once, then cleared."""
        table = published_calendars
        with self._db.transaction() as connection:
            for row in connection.execute(
                select(table.c.collection, table.c.unsealed_token).where(
                    table.c.unsealed_token.is_not(None)
                )
            ).all():
                sealed = self._sealer.seal(row.collection, _PURPOSE, row.unsealed_token)
                connection.execute(
                    update(table)
                    .where(table.c.collection == row.collection)
                    .values(sealed_token=sealed, unsealed_token=None)
                )

    def publish(self, collection: str, mode: str) -> Link:
        """Turns the link on, or changes its mode; the address stays the same."""
        check_mode(mode)
        collection = self._calendar(collection)
        created = {
            "owner": collection_owner(collection),
            **self._new_token(collection),
            "created_at": int(time.time()),
        }
        with self._db.transaction() as connection:
            upsert(
                connection, published_calendars, {"collection": collection}, {"mode": mode}, created
            )
        return self._get(collection)

    def rotate(self, collection: str) -> Link:
        """A new address for a published calendar; the old one answers 404 from now on."""
        collection = normalise_collection(collection)
        with self._db.transaction() as connection:
            changed = connection.execute(
                update(published_calendars)
                .where(published_calendars.c.collection == collection)
                .values(**self._new_token(collection), created_at=int(time.time()))
            ).rowcount
        if not changed:
            raise AccountError(f"{collection} is not published")
        return self._get(collection)

    def unpublish(self, collection: str) -> None:
        collection = normalise_collection(collection)
        with self._db.transaction() as connection:
            removed = connection.execute(
                delete(published_calendars).where(published_calendars.c.collection == collection)
            ).rowcount
        if not removed:
            raise AccountError(f"{collection} is not published")

    def owned_by(self, owner: str | None = None) -> list[Link]:
        query = select(published_calendars).order_by(published_calendars.c.collection)
        if owner is not None:
            query = query.where(published_calendars.c.owner == owner)
        with self._db.reader() as connection:
            return [self._link(row) for row in connection.execute(query)]

    def find(self, token: str) -> Link | None:
        """The link a subscriber presents, if it is on and its owner still exists."""
        if not is_token(token):
            return None
        query = (
            select(published_calendars)
            .join(users, users.c.name == published_calendars.c.owner)
            .where(published_calendars.c.token_digest == token_digest(token))
        )
        with self._db.reader() as connection:
            row = connection.execute(query).first()
        return None if row is None else _link(row, token)

    def _calendar(self, collection: str) -> str:
        collection = normalise_collection(collection)
        collection_owner(collection)
        kind = self._collections.kind(collection)
        if kind is None:
            raise AccountError(f"no calendar at {collection}")
        if kind != "calendar":
            raise AccountError(f"{collection} is an address book: only calendars can be published")
        return collection

    def _get(self, collection: str) -> Link:
        query = select(published_calendars).where(published_calendars.c.collection == collection)
        with self._db.reader() as connection:
            return self._link(connection.execute(query).one())

    def _new_token(self, collection: str) -> dict:
        token = new_token()
        return {
            "token_digest": token_digest(token),
            "sealed_token": self._sealer.seal(collection, _PURPOSE, token),
        }

    def _link(self, row) -> Link:
        """The link of a row, its token unsealed for the owner to see."""
        return _link(row, self._sealer.open(row.collection, _PURPOSE, row.sealed_token))


def _link(row, token: str) -> Link:
    return Link(row.collection, row.owner, token, row.mode, row.created_at)
