"""vCards of any version as cards Radicale stores, nothing dropped on the way.

vCard 2.1 becomes 3.0: quoted-printable values decoded with their CHARSET and
re-escaped, bare parameters (``TEL;CELL``) as ``TYPE=``, base64 photos as
``ENCODING=b``. 3.0 and 4.0 cards keep their version and every property. Each
card gets a UID from its content when it has none (so the same card imported
again is found already there) and the import group in CATEGORIES; invalid
emails and phone numbers are dropped and reported, name-only cards skipped.
"""

from __future__ import annotations

import quopri
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import vobject

from plugins.contacts_import.errors import BrokenCard
from plugins.contacts_import.validate import Problem, name_only, valid_email, valid_phone
from plugins.contacts_import.vcard_lines import Card, Property
from plugins.contacts_import.vcard_text import card_text
from plugins.content_lines import escape_text

# Properties that say who someone is, not how to reach or know them.
_NAME_ONLY = {"VERSION", "UID", "N", "FN", "NICKNAME", "PRODID", "REV", "CATEGORIES"}
_NAME_ONLY |= {"SORT-STRING", "KIND", "CLASS", "NAME", "PROFILE", "SOURCE"}
_STRUCTURED = {"N", "ADR", "ORG"}
_TEXT = {"FN", "NOTE", "TITLE", "ROLE", "LABEL", "MAILER"}
_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
_UNESCAPED_SEMICOLON = re.compile(r"(?<!\\);")


@dataclass
class StoredCard:
    """A card as it will be stored, with what the preview shows of it."""

    uid: str
    text: str
    line: int
    name: str


@dataclass
class CardsRead:
    cards: list[StoredCard] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def normalise_cards(
    cards: list[Card], group: str, uids: Callable[[str], str], all_or_nothing: bool = False
) -> CardsRead:
    """``uids`` gives the UID of a card without one, from the card's content. A card that
    cannot be stored is skipped and reported, or refuses the file when ``all_or_nothing``."""
    result = CardsRead()
    for card in cards:
        try:
            stored, problems = normalise(card, group, uids)
        except BrokenCard as error:
            if all_or_nothing:
                raise
            result.problems.append(error.as_problem())
            continue
        result.problems += problems
        if stored is not None:
            result.cards.append(stored)
    return result


def normalise(
    card: Card, group: str, uids: Callable[[str], str]
) -> tuple[StoredCard | None, list[Problem]]:
    """The card as stored (None when skipped) and the problems found in it."""
    version = card.version() or "3.0"
    if version not in ("2.1", "3.0", "4.0"):
        raise BrokenCard(card.line, f"unsupported vCard version {version!r}", card.line)
    problems: list[Problem] = []
    properties = []
    for prop in card.properties:
        if prop.name == "UID" and not prop.value.strip():
            continue
        converted = _converted(prop, version)
        if _invalid(converted):
            problems.append(
                Problem(prop.line, f"invalid {_what(prop)} {_plain(converted)!r} dropped")
            )
        else:
            properties.append(converted)
    name = _display_name(properties)
    if all(prop.name in _NAME_ONLY or prop.name.startswith("X-") for prop in properties):
        return None, [*problems, name_only(card.line, name)]
    uid = next((prop.value.strip() for prop in properties if prop.name == "UID"), "")
    # Its content without what differs between imports (the group): the same card imported
    # again gets the same UID.
    uid = uid or uids("\r\n".join(content_line(prop) for prop in properties))
    text = _serialise(properties, "4.0" if version == "4.0" else "3.0", uid, name, group)
    try:
        vobject.readOne(text)
    except Exception as error:  # vobject's parse errors have no common base
        raise BrokenCard(card.line, f"the card cannot be read: {error}", card.line) from None
    return StoredCard(uid, text, card.line, name), problems


def _converted(prop: Property, version: str) -> Property:
    """The property in the card's output version (3.0 for 2.1): decoded and re-escaped."""
    encoding = prop.encoding()
    value = prop.value
    if encoding == "QUOTED-PRINTABLE":
        value = _reescaped(prop.name, _quoted_printable(value, prop.param("CHARSET")))
    elif version == "2.1":
        value = _reescaped(prop.name, value)
    params: list[tuple[str, str]] = []
    for key, param in prop.params:
        if key in ("CHARSET", "ENCODING") or (not key and param.upper() in _ENCODINGS):
            continue
        if not key or (version == "2.1" and key == "TYPE"):
            params.append(("TYPE", param.upper()))
        elif key == "VALUE" and param.upper() == "URL":
            params.append(("VALUE", "uri"))
        else:
            params.append((key, param))
    if encoding in ("BASE64", "B"):
        params.append(("ENCODING", "b"))
        value = re.sub(r"\s+", "", value)
    return Property(prop.name, params, value, prop.line, prop.group)


def _quoted_printable(value: str, charset: str) -> str:
    raw = quopri.decodestring(value.encode("utf-8"))
    for candidate in filter(None, (charset, "utf-8", "cp1252", "latin-1")):
        try:
            return raw.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("latin-1")


def _reescaped(name: str, value: str) -> str:
    """A vCard 2.1 value (commas literal, newlines raw) in 3.0 escaping."""
    if name in _STRUCTURED:
        parts = _UNESCAPED_SEMICOLON.split(value)
        return ";".join(escape_text(part.replace("\\;", ";")) for part in parts)
    if name in _TEXT:
        return escape_text(value)
    return value.replace("\r\n", "\\n").replace("\n", "\\n")


def _invalid(prop: Property) -> bool:
    if prop.name == "EMAIL":
        return not valid_email(_plain(prop).removeprefix("mailto:"))
    if prop.name == "TEL":
        return not valid_phone(_plain(prop).removeprefix("tel:"))
    return False


def _what(prop: Property) -> str:
    return "email" if prop.name == "EMAIL" else "phone number"


def _plain(prop: Property) -> str:
    return prop.value.strip().replace("\\,", ",").replace("\\;", ";")


def _display_name(properties: list[Property]) -> str:
    for prop in properties:
        if prop.name == "FN" and prop.value.strip():
            return _plain(prop)
    for prop in properties:
        if prop.name == "N":
            parts = [part.replace("\\,", ",") for part in _UNESCAPED_SEMICOLON.split(prop.value)]
            family, given = [*parts, "", ""][:2]
            return " ".join(filter(None, [given, family])).strip()
    for prop in properties:
        if prop.name in ("ORG", "EMAIL"):
            return _plain(prop).split(";")[0]
    return ""


def _serialise(properties: list[Property], version: str, uid: str, name: str, group: str) -> str:
    names = {prop.name for prop in properties}
    lines = ["BEGIN:VCARD", f"VERSION:{version}"]
    if "UID" not in names:
        lines.append(f"UID:{uid}")
    if "FN" not in names:
        lines.append(f"FN:{escape_text(name)}")
    if "N" not in names and version == "3.0":
        lines.append("N:;;;;")
    grouped = False
    for prop in properties:
        if prop.name == "VERSION":
            continue
        if prop.name == "CATEGORIES" and not grouped:
            prop = Property(prop.name, prop.params, f"{prop.value},{escape_text(group)}", prop.line)
            grouped = True
        lines.append(content_line(prop))
    if not grouped:
        lines.append(f"CATEGORIES:{escape_text(group)}")
    lines.append("END:VCARD")
    return card_text(lines)


def content_line(prop: Property) -> str:
    """The property as one unfolded content line."""
    head = f"{prop.group}.{prop.name}" if prop.group else prop.name
    merged: dict[str, list[str]] = {}
    for key, value in prop.params:
        merged.setdefault(key, []).append(value)
    for key, values in merged.items():
        joined = ",".join(_param_value(value) for value in dict.fromkeys(values))
        head += f";{key}={joined}" if key else f";{joined}"
    return f"{head}:{prop.value}"


def _param_value(value: str) -> str:
    return f'"{value}"' if re.search(r"[:;,]", value) else value
