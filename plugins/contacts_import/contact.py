"""A contact as read from a CSV row, before it becomes a vCard: plain data, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

ADDRESS_PARTS = ("pobox", "extended", "street", "city", "region", "postcode", "country")


@dataclass
class Typed:
    """A value with its vCard TYPE (``home``, ``work``, ``cell``…; "" when unknown)."""

    value: str
    type: str = ""


@dataclass
class Address:
    type: str = ""
    pobox: str = ""
    extended: str = ""
    street: str = ""
    city: str = ""
    region: str = ""
    postcode: str = ""
    country: str = ""

    def is_empty(self) -> bool:
        return not any(getattr(self, part) for part in ADDRESS_PARTS)


@dataclass
class Contact:
    line: int  # where the contact starts in the file, for problem reports
    given: str = ""
    family: str = ""
    middle: str = ""
    prefix: str = ""
    suffix: str = ""
    nickname: str = ""
    fn: str = ""
    emails: list[Typed] = field(default_factory=list)
    tels: list[Typed] = field(default_factory=list)
    org: str = ""
    department: str = ""
    title: str = ""
    addresses: list[Address] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    bday: str = ""
    note: str = ""
    categories: list[str] = field(default_factory=list)

    def display_name(self) -> str:
        """FN as vCard 3.0 requires one: the name, else the organisation, else the email."""
        if self.fn:
            return self.fn
        parts = (self.prefix, self.given, self.middle, self.family, self.suffix)
        name = " ".join(part for part in parts if part)
        if name:
            return name
        if self.org:
            return self.org
        return self.emails[0].value if self.emails else ""

    def has_details(self) -> bool:
        """Anything beyond a name: a contact without it is skipped (and reported)."""
        return bool(
            self.emails
            or self.tels
            or self.org
            or self.department
            or self.title
            or any(not address.is_empty() for address in self.addresses)
            or self.urls
            or self.bday
            or self.note
        )
