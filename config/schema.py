"""Typed option declarations, so a component describes its section once.

A section is a frozen dataclass; each field is made with ``option`` (a value
with a parser) or ``section`` (a nested dataclass). Parsers take the value as
YAML gave it and return the typed value, or raise ``ValueError`` whose text
says what was expected.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Option:
    parse: Parser
    help: str


def option(default: Any, parse: Parser, help: str) -> Any:
    """Declare one option; ``help`` is printed by ``murmeli check-config --example``."""
    return dataclasses.field(default=default, metadata={"option": Option(parse, help)})


def section(cls: type) -> Any:
    """Declare a nested section whose defaults are the dataclass's own."""
    return dataclasses.field(default_factory=cls, metadata={"section": cls})


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def integer(minimum: int, maximum: int) -> Parser:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if not minimum <= value <= maximum:
            raise ValueError(f"expected a number from {minimum} to {maximum}, got {value}")
        return value

    return parse


def choice(*allowed: str) -> Parser:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return value

    return parse


def optional(parse: Parser) -> Parser:
    def parse_optional(value: Any) -> Any:
        return None if value is None else parse(value)

    return parse_optional


def path(value: Any) -> Path:
    return Path(text(value)).expanduser()


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[^:\[\]\s]+)):(?P<port>\d{1,5})$")


def listen(value: Any) -> Listen:
    match = _LISTEN.match(str(value)) if isinstance(value, str) else None
    if not match or int(match["port"]) > 65535:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:5232), got {value!r}")
    return Listen(match["v6"] or match["host"], int(match["port"]))


_SIZE = re.compile(r"^(\d+)\s*([kKmMgG]?)i?[bB]?$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def byte_size(value: Any) -> int:
    """Accept ``10485760``, ``10MB`` or ``10 MiB``."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.match(value.strip()) if isinstance(value, str) else None
    if not match or int(match[1]) == 0:
        raise ValueError(f"expected a size such as 10MB or 1048576, got {value!r}")
    return int(match[1]) * _UNITS[match[2].lower()]


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def duration(value: Any) -> float:
    """Seconds, from ``90``, ``500ms``, ``30s``, ``5m``, ``2h`` or ``7d``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if not match or float(match[1]) == 0:
        raise ValueError(f"expected a duration such as 30s, 5m, 2h or 7d, got {value!r}")
    return float(match[1]) * _SECONDS[match[2]]
