"""What an import reports instead of silently dropping: bad emails and phone numbers
(the value is dropped, the contact kept) and name-only contacts (skipped).

Each problem carries the line of the file it comes from, so the user can fix
the export and import again.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from plugins.contacts_import.contact import Contact

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
    problems: list[Problem] = []
    kept_emails = []
    for email in contact.emails:
        if valid_email(email.value):
            kept_emails.append(email)
        else:
            line = value_lines.get(email.value, contact.line)
            problems.append(Problem(line, f"invalid email {email.value!r} dropped"))
    kept_tels = []
    for tel in contact.tels:
        if valid_phone(tel.value):
            kept_tels.append(tel)
        else:
            line = value_lines.get(tel.value, contact.line)
            problems.append(Problem(line, f"invalid phone number {tel.value!r} dropped"))
    contact.emails, contact.tels = kept_emails, kept_tels
    return problems


def name_only(line: int, name: str) -> Problem:
    return Problem(line, f"skipped {name or 'a contact'!r}: only a name, nothing else to keep")
