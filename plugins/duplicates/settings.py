"""The ``duplicates`` section of the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import phonenumbers

from config.schema import integer, option


def region(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"expected a two-letter country code such as CH or FR, got {value!r}")
    return value.upper()


@dataclass(frozen=True)
class DuplicatesSettings:
    default_region: str = option(
        "CH", region, "country of phone numbers written without a country code"
    )
    write_batch: int = option(
        100,
        integer(1, 100_000),
        "cards a merge or an undo writes per hold of the storage's write lock: fewer let"
        " other users' changes in sooner, more finish a merge of thousands of groups sooner",
    )
