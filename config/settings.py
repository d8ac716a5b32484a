"""The whole configuration: one section per component, as each component declares it."""

from __future__ import annotations

from dataclasses import dataclass

from config.schema import section
from davserver.settings import AccountsSettings, DatabaseSettings, ServerSettings


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = section(ServerSettings)
    database: DatabaseSettings = section(DatabaseSettings)
    accounts: AccountsSettings = section(AccountsSettings)
