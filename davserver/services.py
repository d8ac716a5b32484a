"""The composition root: every part of Murmeli built once from the settings.

The server, the CLI commands and the tests all start here, so each part has
one way of being made and they all share one database.

The OpenPGP key stores are imported when first used: commands that never
touch them (``murmeli user list``) run without loading the OpenPGP library.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING

from radicale import config

from config.settings import Settings
from crypto.secure_delivery import SecureDelivery
from crypto.secure_store import SecureMessageStore
from crypto.wrapping import kek_configured, load_kek
from davserver.accounts.app_passwords import AppPasswords
from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import ORGANISATION_GROUP, Directory
from davserver.accounts.lockout import LoginLockout
from davserver.accounts.radicale_auth import Auth
from davserver.clock import FileClock, SystemClock
from davserver.collections import Collections
from davserver.database import Database, default_url, open_database
from davserver.mail import Mailer
from davserver.private_files import private_folder
from davserver.radicale_config import radicale_configuration
from importer.credentials import Credentials
from importer.jobs import JobStore
from plugins.availability.index import BusyIndex
from plugins.availability.lookup import Availability
from plugins.availability.visibility import Visibility
from plugins.duplicates.duplicates import Duplicates
from plugins.duplicates.store import DuplicateStore
from plugins.publish.links import KEY_FILE as PUBLISH_KEY_FILE
from plugins.publish.links import PublishedCalendars
from plugins.scheduling.service import Scheduling
from plugins.sharing.shares import Shares
from plugins.sharing.store import Sharing

if TYPE_CHECKING:
    from crypto.keys import KeyStore
    from crypto.recipient_keys import RecipientKeys


@dataclass
class Services:
    settings: Settings

    @property
    def database_url(self) -> str:
        return self.settings.database.url or default_url(self.settings.server.data)

    @cached_property
    def database(self) -> Database:
        private_folder(self.settings.server.data)
        return open_database(self.database_url)

    @cached_property
    def directory(self) -> Directory:
        return Directory(self.database)

    @cached_property
    def app_passwords(self) -> AppPasswords:
        return AppPasswords(self.database)

    @cached_property
    def login_lockout(self) -> LoginLockout:
        return LoginLockout(self.database, self.settings.server.login_lockout)

    @cached_property
    def authenticator(self) -> Authenticator:
        return Authenticator(self.database, self.login_lockout)

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
    def clock(self) -> SystemClock | FileClock:
        """The one notion of "now" of time-driven features (a file in acceptance tests)."""
        test_clock_file = self.settings.server.test_clock_file
        return FileClock(test_clock_file) if test_clock_file else SystemClock()

    @cached_property
    def mailer(self) -> Mailer:
        return Mailer(self.settings.smtp)

    @cached_property
    def scheduling(self) -> Scheduling:
        return Scheduling(
            self.settings,
            self.database,
            self.directory,
            self.collections,
            self.availability,
            self.authenticator,
            self.mailer,
            self.clock,
        )

    @cached_property
    def published_calendars(self) -> PublishedCalendars:
        sealer = Credentials(self.settings.server.data / PUBLISH_KEY_FILE)
        return PublishedCalendars(self.database, self.collections, sealer)

    @cached_property
    def duplicates(self) -> Duplicates:
        return Duplicates(
            self.collections,
            DuplicateStore(self.database),
            self.settings.duplicates.default_region,
            self.settings.duplicates.write_batch,
        )

    @cached_property
    def import_jobs(self) -> JobStore:
        key_file = self.settings.importer.key_path(self.settings.server.data)
        return JobStore(self.database, Credentials(key_file))

    @cached_property
    def key_store(self) -> KeyStore:
        """Every address's OpenPGP key; opening it checks the KEK, so a wrong one stops here."""
        from crypto.keys import KeyStore

        return KeyStore(self.database, load_kek(self.settings.relay))

    @cached_property
    def recipient_keys(self) -> RecipientKeys:
        """Outside recipients' public keys: users' keyrings, then the Web Key Directory."""
        from crypto.recipient_keys import RecipientKeys, wkd_client

        return RecipientKeys(self.database, self.directory, wkd_client(self.settings.relay))

    @cached_property
    def secure_delivery(self) -> SecureDelivery:
        """Password-protected messages to outside recipients without a key."""
        return SecureDelivery(
            SecureMessageStore(self.database),
            self.mailer,
            self.clock,
            self.settings.relay,
            self.settings.server.base_url,
        )

    def warm_up(self) -> None:
        """Run each per-request query once: the first client must not pay SQLAlchemy's
        statement compilation (~20 ms), nor the first database connection."""
        nobody = "-"
        self.authenticator.user_for(nobody, nobody)
        self.directory.find(nobody)
        self.shares.received_by(nobody, {nobody, ORGANISATION_GROUP})
        if kek_configured(self.settings.relay):
            self.key_store  # noqa: B018 - opening it checks the KEK: a wrong one stops start-up
