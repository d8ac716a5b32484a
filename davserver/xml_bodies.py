"""XML request bodies checked before Radicale parses them.

Refused with a reason (400): DTD and entity declarations (an entity bomb; Radicale's
defusedxml would answer 500) and nesting deeper than any DAV request needs
(Radicale walks the tree recursively: 100,000 levels crashed a PROPPATCH half
way, after part of it was stored). Malformed XML is left to Radicale, which
answers 400 with the parser's message.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from xml.parsers import expat

from radicale.xmlutils import make_human_tag

from davserver.request_entry import Refused

# DAV requests nest a handful of levels (a calendar-query filter about ten).
MAX_DEPTH = 40
_SET, _REMOVE, _PROP = "DAV: set", "DAV: remove", "DAV: prop"


@dataclass
class PropertyUpdate:
    """The property names (as Radicale files them: ``D:displayname``) a PROPPATCH sets
    and removes."""

    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)


def check_xml(body: bytes) -> PropertyUpdate:
    """Raise ``Refused`` for declarations or deep nesting; the property names of a
    PROPPATCH body (empty for other requests)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[str] = []
    update = PropertyUpdate()

    def start(name: str, attributes: dict) -> None:
        stack.append(name)
        if len(stack) > MAX_DEPTH:
            raise Refused("400 Bad Request", f"XML nested deeper than {MAX_DEPTH} levels")
        if len(stack) >= 4 and stack[-2] == _PROP and stack[-3] in (_SET, _REMOVE):
            target = update.added if stack[-3] == _SET else update.removed
            target.add(_radicale_name(name))

    def declaration(*_: object) -> None:
        raise Refused("400 Bad Request", "XML with DTD or entity declarations is refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: stack.pop()
    parser.StartDoctypeDeclHandler = declaration
    parser.EntityDeclHandler = declaration
    with contextlib.suppress(expat.ExpatError):  # Radicale says what is malformed
        parser.Parse(body, True)
    return update


def _radicale_name(name: str) -> str:
    """expat's ``namespace name`` as Radicale files the property: ``D:displayname``."""
    namespace, _, local = name.rpartition(" ")
    return make_human_tag(f"{{{namespace}}}{local}") if namespace else local
