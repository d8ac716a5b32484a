"""What an import reports instead of silently dropping: bad emails and phone numbers
(the value is dropped, the contact kept) and name-only contacts (skipped).

Each problem carries the line of the file it comes from, so the user can fix
the export and import again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from plugins.contacts_import.contact import Contact, Typed

# Deliberately permissive: an address a mail client would try, no more.
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")
# Digits with the separators people type; optional leading + and an extension.
_PHONE = re.compile(r"^\+?[\d\s().\-/]{3,30}(\s*(ext\.?|x|#|;ext=)\s*\d{1,6})?$", re.IGNORECASE)
_MIN_PHONE_DIGITS = 3


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def as_json(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def valid_phone(value: str) -> bool:
    digits = sum(char.isdigit() for char in value)
    return bool(_PHONE.match(value)) and digits >= _MIN_PHONE_DIGITS


def check_contact(contact: Contact, value_lines: dict[str, int]) -> list[Problem]:
    """Drops invalid emails and phone numbers from ``contact`` and says why.

    ``value_lines`` maps a value to the line it was read from, when that is not
    the contact's own first line (vCards spread over several lines).
    """
    contact.emails, bad_emails = _checked(
        contact.emails, valid_email, "email", contact.line, value_lines
    )
    contact.tels, bad_tels = _checked(
        contact.tels, valid_phone, "phone number", contact.line, value_lines
    )
    return bad_emails + bad_tels


def _checked(
    values: list[Typed],
    valid: Callable[[str], bool],
    what: str,
    line: int,
    value_lines: dict[str, int],
) -> tuple[list[Typed], list[Problem]]:
    """The valid ``values``, and a problem for each one dropped."""
    kept: list[Typed] = []
    problems: list[Problem] = []
    for typed in values:
        if valid(typed.value):
            kept.append(typed)
        else:
            where = value_lines.get(typed.value, line)
            problems.append(Problem(where, f"invalid {what} {typed.value!r} dropped"))
    return kept, problems


def name_only(line: int, name: str) -> Problem:
    return Problem(line, f"skipped {name or 'a contact'!r}: only a name, nothing else to keep")
