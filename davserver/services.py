"""The composition root: every part of Murmeli built once from the settings.

The server, the CLI commands and the tests all start here, so each part has
one way of being made and they all share one database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial

from radicale import config

from config.settings import Settings
from davserver.accounts.app_passwords import AppPasswords
from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import ORGANISATION_GROUP, Directory
from davserver.accounts.radicale_auth import Auth
from davserver.collections import Collections
from davserver.database import Database, default_url, open_database
from davserver.mail import Mailer
from davserver.radicale_config import radicale_configuration
from importer.credentials import Credentials
from importer.jobs import JobStore
from plugins.availability.index import BusyIndex
from plugins.availability.lookup import Availability
from plugins.availability.visibility import Visibility
from plugins.duplicates.duplicates import Duplicates
from plugins.duplicates.store import DuplicateStore
from plugins.publish.links import PublishedCalendars
from plugins.sharing.shares import Shares
from plugins.sharing.store import Sharing


@dataclass
class Services:
    settings: Settings

    @cached_property
    def database(self) -> Database:
        self.settings.server.data.mkdir(parents=True, exist_ok=True)
        return open_database(self.settings.database.url or default_url(self.settings.server.data))

    @cached_property
    def directory(self) -> Directory:
        return Directory(self.database)

    @cached_property
    def app_passwords(self) -> AppPasswords:
        return AppPasswords(self.database)

    @cached_property
    def authenticator(self) -> Authenticator:
        return Authenticator(self.database)

    @cached_property
    def shares(self) -> Shares:
        return Shares(self.database, self.directory)

    @cached_property
    def radicale_configuration(self) -> config.Configuration:
        return radicale_configuration(
            self.settings,
            auth=partial(Auth, authenticator=self.authenticator, directory=self.directory),
            sharing=partial(Sharing, shares=self.shares),
        )

    @cached_property
    def collections(self) -> Collections:
        return Collections(self.radicale_configuration)

    @cached_property
    def availability(self) -> Availability:
        visibility = Visibility(self.directory, self.shares, self.collections)
        return Availability(visibility, self.collections, BusyIndex())

    @cached_property
    def mailer(self) -> Mailer:
        return Mailer(self.settings.smtp)

    @cached_property
    def published_calendars(self) -> PublishedCalendars:
        return PublishedCalendars(self.database, self.collections)

    @cached_property
    def duplicates(self) -> Duplicates:
        return Duplicates(
            self.collections,
            DuplicateStore(self.database),
            self.settings.duplicates.default_region,
        )

    @cached_property
    def import_jobs(self) -> JobStore:
        key_file = self.settings.importer.key_path(self.settings.server.data)
        return JobStore(self.database, Credentials(key_file))

    def warm_up(self) -> None:
        """Run each per-request query once: the first client must not pay SQLAlchemy's
        statement compilation (~20 ms), nor the first database connection."""
        nobody = "-"
        self.authenticator.user_for(nobody, nobody)
        self.directory.find(nobody)
        self.shares.received_by(nobody, {nobody, ORGANISATION_GROUP})
