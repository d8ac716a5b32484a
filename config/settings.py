"""The whole configuration: one section per component, as each component declares it."""

from __future__ import annotations

from dataclasses import dataclass

from config.schema import section
from crypto.settings import RelaySettings
from davserver.settings import AccountsSettings, DatabaseSettings, ServerSettings, SmtpSettings
from importer.settings import ImporterSettings
from plugins.availability.settings import AvailabilitySettings
from plugins.duplicates.settings import DuplicatesSettings
from plugins.reminders.settings import RemindersSettings
from plugins.scheduling.settings import SchedulingSettings


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = section(ServerSettings)
    database: DatabaseSettings = section(DatabaseSettings)
    accounts: AccountsSettings = section(AccountsSettings)
    availability: AvailabilitySettings = section(AvailabilitySettings)
    smtp: SmtpSettings = section(SmtpSettings)
    reminders: RemindersSettings = section(RemindersSettings)
    duplicates: DuplicatesSettings = section(DuplicatesSettings)
    relay: RelaySettings = section(RelaySettings)
    importer: ImporterSettings = section(ImporterSettings)
    scheduling: SchedulingSettings = section(SchedulingSettings)
