"""A ``Contact`` as the vCard 3.0 Radicale stores: the version Apple, Google and Thunderbird
all read, with the UID it is given and the import group in CATEGORIES."""

from __future__ import annotations

from plugins.contacts_import.contact import Contact
from plugins.contacts_import.vcard_text import card_text, compound
from plugins.content_lines import escape_text

PRODID = "-//Murmeli//contacts import//EN"


def vcard(contact: Contact, uid: str, group: str) -> str:
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"PRODID:{PRODID}",
        f"UID:{uid}",
        f"FN:{escape_text(contact.display_name())}",
        "N:"
        + compound(contact.family, contact.given, contact.middle, contact.prefix, contact.suffix),
    ]
    if contact.nickname:
        lines.append(f"NICKNAME:{escape_text(contact.nickname)}")
    for email in contact.emails:
        lines.append(f"EMAIL;TYPE={_types('INTERNET', email.type)}:{email.value}")
    for tel in contact.tels:
        types = _types(tel.type)
        lines.append(f"TEL;TYPE={types}:{tel.value}" if types else f"TEL:{tel.value}")
    if contact.org or contact.department:
        lines.append("ORG:" + compound(contact.org, *filter(None, [contact.department])))
    if contact.title:
        lines.append(f"TITLE:{escape_text(contact.title)}")
    for address in contact.addresses:
        if address.is_empty():
            continue
        types = _types(address.type)
        parts = compound(
            address.pobox,
            address.extended,
            address.street,
            address.city,
            address.region,
            address.postcode,
            address.country,
        )
        lines.append(f"ADR;TYPE={types}:{parts}" if types else f"ADR:{parts}")
    lines += [f"URL:{url}" for url in contact.urls]
    if contact.bday:
        lines.append(f"BDAY:{contact.bday}")
    if contact.note:
        lines.append(f"NOTE:{escape_text(contact.note)}")
    categories = [*contact.categories, group]
    lines.append("CATEGORIES:" + ",".join(escape_text(category) for category in categories))
    lines.append("END:VCARD")
    return card_text(lines)


def _types(*types: str) -> str:
    return ",".join(type_.upper() for type_ in types if type_)
