"""Read the YAML file into ``Settings``, refusing anything it does not understand.

Every error is one ``ConfigError`` line: ``FILE:LINE: dotted.key: what was expected``.
Values are checked against the component's declarations, so a typo or a wrong
type stops start-up instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from config.schema import Option
from config.settings import Settings


class ConfigError(ValueError):
    """A configuration problem, already phrased for the operator."""


def load(path: Path | None) -> Settings:
    """Settings from ``path``, or the embedded defaults when ``path`` is None."""
    if path is None:
        return Settings()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error}") from None
    return parse(source, str(path))


def parse(source: str, name: str) -> Settings:
    loader = yaml.SafeLoader(source)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    if root is None:
        return Settings()
    return _section(Settings, root, "", _Reader(loader, name))


class _Reader:
    def __init__(self, loader: yaml.SafeLoader, name: str) -> None:
        self.loader = loader
        self.name = name

    def error(self, node: yaml.Node, key: str, message: str) -> ConfigError:
        label = f"{key}: " if key else ""
        return ConfigError(f"{self.name}:{node.start_mark.line + 1}: {label}{message}")

    def value(self, node: yaml.Node, key: str) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            raise self.error(node, key, f"unreadable value: {error}") from None


def _section(cls: type, node: yaml.Node, prefix: str, reader: _Reader) -> Any:
    if not isinstance(node, yaml.MappingNode):
        raise reader.error(node, prefix.rstrip("."), "expected a mapping of keys to values")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        dotted = f"{prefix}{key}"
        if key not in fields:
            known = ", ".join(fields)
            raise reader.error(key_node, dotted, f"unknown key (expected one of: {known})")
        if key in values:
            raise reader.error(key_node, dotted, "given twice")
        values[key] = _field(fields[key], value_node, dotted, reader)
    try:
        return cls(**values)
    except ValueError as error:
        raise reader.error(node, prefix.rstrip("."), str(error)) from None


def _field(field: dataclasses.Field, node: yaml.Node, dotted: str, reader: _Reader) -> Any:
    if "section" in field.metadata:
        return _section(field.metadata["section"], node, dotted + ".", reader)
    declared: Option = field.metadata["option"]
    try:
        return declared.parse(reader.value(node, dotted))
    except ValueError as error:
        raise reader.error(node, dotted, str(error)) from None


def example() -> str:
    """The defaults as a commented YAML file, for operators to start from."""
    return "\n".join(_example_lines(Settings, 0)) + "\n"


def _example_lines(cls: type, depth: int) -> list[str]:
    indent = "  " * depth
    lines: list[str] = []
    for field in dataclasses.fields(cls):
        if "section" in field.metadata:
            lines += [
                f"{indent}{field.name}:",
                *_example_lines(field.metadata["section"], depth + 1),
            ]
            continue
        default = field.default
        shown = (
            "null"
            if default is None
            else yaml.safe_dump(default if isinstance(default, bool | int) else str(default))
            .strip()
            .removesuffix("\n...")
            .strip()
        )
        lines.append(f"{indent}# {field.metadata['option'].help}")
        lines.append(f"{indent}{field.name}: {shown}")
    return lines
