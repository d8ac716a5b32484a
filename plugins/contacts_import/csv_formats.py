"""Which CSV column holds which contact field.

Exports of Google Contacts (current and older header), Outlook/Office 365 and
Thunderbird are recognised from their headers and mapped completely; any other
spreadsheet gets a mapping *proposed* from its header names (English, French,
German, Spanish, Italian, Dutch), which the user reviews in the preview and
overrides with ``HEADER=FIELD[:TYPE]`` pairs (``Nom=family,Portable=tel:cell``).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass

from plugins.contacts_import.errors import ImportRefused

NAME_FIELDS = ("given", "family", "middle", "prefix", "suffix", "nickname", "fn")
ADDRESS_FIELDS = ("street", "pobox", "extended", "city", "region", "postcode", "country")
FIELDS = (
    *NAME_FIELDS,
    "email",
    "tel",
    "org",
    "department",
    "title",
    *ADDRESS_FIELDS,
    "url",
    "bday",
    "birth-year",
    "birth-month",
    "birth-day",
    "note",
    "categories",
    "label",  # the TYPE of the email/phone/address of the same slot (Google's "… - Label")
    "ignore",
)
TYPES = ("home", "work", "cell", "fax", "pager", "voice", "car", "isdn", "main", "other")


@dataclass(frozen=True)
class Rule:
    """Column ``column`` (headed ``header``) fills ``field``.

    ``type`` is the vCard TYPE of the value (``home``, ``work,fax``…); columns
    sharing a ``slot`` describe one email, phone or address (Google's
    "Address 1 - City" and "Address 1 - Street", Outlook's "Business …").
    """

    column: int
    header: str
    field: str
    type: str = ""
    slot: str = ""

    def describe(self) -> str:
        return f"{self.field}:{self.type}" if self.type else self.field


@dataclass(frozen=True)
class Mapping:
    format: str  # "google", "outlook", "thunderbird" or "proposed"
    rules: tuple[Rule, ...]
    day_first: bool = True  # how to read 05/06/1980: Outlook (US) writes month first
    multi_value_separator: str | None = None  # Google: " ::: " between values of one cell

    def as_json(self) -> list[dict]:
        return [{"column": rule.header, "field": rule.describe()} for rule in self.rules]


def mapping_for(headers: list[str], overrides: str | None = None) -> Mapping:
    """The known format's mapping, else the proposed one; ``overrides`` win either way."""
    mapping = _known(headers) or Mapping("proposed", tuple(_proposed(headers)))
    if overrides:
        mapping = _override(mapping, headers, overrides)
    return mapping


# --- known exports -------------------------------------------------------------------


def _known(headers: list[str]) -> Mapping | None:
    present = set(headers)
    if "Primary Email" in present and "Display Name" in present:
        return Mapping("thunderbird", tuple(_by_table(headers, _THUNDERBIRD)))
    if "E-mail Address" in present and present & {"Business Phone", "Mobile Phone", "Home Phone"}:
        return Mapping("outlook", tuple(_by_table(headers, _OUTLOOK)), day_first=False)
    numbered = present & {"E-mail 1 - Value", "Phone 1 - Value"}
    if numbered and present & {"First Name", "Given Name", "Family Name", "Last Name", "Name"}:
        return Mapping("google", tuple(_google(headers)), multi_value_separator=" ::: ")
    return None


def _by_table(headers: list[str], table: dict[str, str]) -> list[Rule]:
    rules = []
    for column, header in enumerate(headers):
        field, _, type_ = table.get(header, "ignore").partition(":")
        slot = type_ if field in ADDRESS_FIELDS else ""
        rules.append(Rule(column, header, field, type_, slot))
    return rules


_GOOGLE_NAMES = {
    "First Name": "given",
    "Given Name": "given",
    "Middle Name": "middle",
    "Additional Name": "middle",
    "Last Name": "family",
    "Family Name": "family",
    "Name Prefix": "prefix",
    "Name Suffix": "suffix",
    "Nickname": "nickname",
    "Name": "fn",
    "Organization Name": "org",
    "Organization Title": "title",
    "Organization Department": "department",
    "Birthday": "bday",
    "Notes": "note",
    "Labels": "categories",
    "Group Membership": "categories",
}
_GOOGLE_NUMBERED = re.compile(r"^(E-mail|Phone|Address|Website|Organization) (\d+) - (.+)$")
_GOOGLE_PARTS = {
    ("E-mail", "Value"): "email",
    ("Phone", "Value"): "tel",
    ("Website", "Value"): "url",
    ("Address", "Street"): "street",
    ("Address", "City"): "city",
    ("Address", "PO Box"): "pobox",
    ("Address", "Region"): "region",
    ("Address", "Postal Code"): "postcode",
    ("Address", "Country"): "country",
    ("Address", "Extended Address"): "extended",
    ("Organization", "Name"): "org",
    ("Organization", "Title"): "title",
    ("Organization", "Department"): "department",
}


def _google(headers: list[str]) -> list[Rule]:
    rules = []
    for column, header in enumerate(headers):
        match = _GOOGLE_NUMBERED.match(header)
        if not match:
            rules.append(Rule(column, header, _GOOGLE_NAMES.get(header, "ignore")))
            continue
        kind, number, part = match.groups()
        slot = f"{kind} {number}"
        if part in ("Label", "Type") and kind in ("E-mail", "Phone", "Address"):
            rules.append(Rule(column, header, "label", slot=slot))
        elif kind == "Organization" and number != "1":
            rules.append(Rule(column, header, "ignore"))
        else:
            rules.append(Rule(column, header, _GOOGLE_PARTS.get((kind, part), "ignore"), slot=slot))
    return rules


def _outlook_table() -> dict[str, str]:
    table = {
        "Title": "prefix",
        "First Name": "given",
        "Middle Name": "middle",
        "Last Name": "family",
        "Suffix": "suffix",
        "Nickname": "nickname",
        "Company": "org",
        "Department": "department",
        "Job Title": "title",
        "E-mail Address": "email",
        "E-mail 2 Address": "email",
        "E-mail 3 Address": "email",
        "Business Phone": "tel:work",
        "Business Phone 2": "tel:work",
        "Home Phone": "tel:home",
        "Home Phone 2": "tel:home",
        "Mobile Phone": "tel:cell",
        "Car Phone": "tel:car",
        "Other Phone": "tel",
        "Primary Phone": "tel:pref",
        "Company Main Phone": "tel:work",
        "Callback": "tel",
        "Radio Phone": "tel",
        "Assistant's Phone": "tel:work",
        "ISDN": "tel:isdn",
        "Telex": "tel",
        "TTY/TDD Phone": "tel",
        "Pager": "tel:pager",
        "Business Fax": "tel:work,fax",
        "Home Fax": "tel:home,fax",
        "Other Fax": "tel:fax",
        "Web Page": "url",
        "Personal Web Page": "url",
        "Birthday": "bday",
        "Notes": "note",
        "Categories": "categories",
    }
    for prefix, type_ in (("Business", "work"), ("Home", "home"), ("Other", "other")):
        for suffix in ("Street", "Street 2", "Street 3"):
            table[f"{prefix} {suffix}"] = f"street:{type_}"
        table[f"{prefix} City"] = f"city:{type_}"
        table[f"{prefix} State"] = f"region:{type_}"
        table[f"{prefix} Postal Code"] = f"postcode:{type_}"
        table[f"{prefix} Country/Region"] = f"country:{type_}"
        table[f"{prefix} Address PO Box"] = f"pobox:{type_}"
    return table


_OUTLOOK = _outlook_table()

_THUNDERBIRD = {
    "First Name": "given",
    "Last Name": "family",
    "Display Name": "fn",
    "Nickname": "nickname",
    "Primary Email": "email",
    "Secondary Email": "email",
    "Work Phone": "tel:work",
    "Home Phone": "tel:home",
    "Fax Number": "tel:fax",
    "Pager Number": "tel:pager",
    "Mobile Number": "tel:cell",
    "Home Address": "street:home",
    "Home Address 2": "street:home",
    "Home City": "city:home",
    "Home State": "region:home",
    "Home ZipCode": "postcode:home",
    "Home Country": "country:home",
    "Work Address": "street:work",
    "Work Address 2": "street:work",
    "Work City": "city:work",
    "Work State": "region:work",
    "Work ZipCode": "postcode:work",
    "Work Country": "country:work",
    "Job Title": "title",
    "Department": "department",
    "Organization": "org",
    "Web Page 1": "url",
    "Web Page 2": "url",
    "Birth Year": "birth-year",
    "Birth Month": "birth-month",
    "Birth Day": "birth-day",
    "Notes": "note",
}


# --- proposed mapping ----------------------------------------------------------------

_SYNONYMS = {
    "family": "nom, name, last name, lastname, surname, family name, nom de famille, nachname, "
    "familienname, apellido, apellidos, cognome, achternaam",
    "given": "prenom, first name, firstname, given name, forename, vorname, nombre, nome, voornaam",
    "middle": "middle name, second prenom, deuxieme prenom, zweiter vorname, weitere vornamen",
    "fn": "nom complet, full name, display name, nom affiche, vollstandiger name, anzeigename, "
    "nombre completo, nome completo",
    "prefix": "civilite, anrede, salutation, titel, tratamiento",
    "nickname": "surnom, pseudo, nickname, spitzname, apodo, soprannome",
    "email": "e mail, email, courriel, mail, adresse e mail, adresse mail, e mail adresse, "
    "correo, correo electronico, posta elettronica",
    "tel": "telephone, telefon, phone, tel, telefono, phone number, telefonnummer, "
    "numero de telephone, numero, telefoon",
    "tel:cell": "mobile, portable, telephone portable, telephone mobile, handy, mobil, "
    "mobiltelefon, cell, cellphone, mobile phone, cellulaire, natel, movil, cellulare, gsm",
    "tel:work": "telephone pro, telephone professionnel, telephone bureau, work phone, "
    "business phone, office phone, telefon geschaftlich, telefon buro",
    "tel:home": "telephone domicile, telephone fixe, home phone, telefon privat",
    "tel:fax": "fax, telecopie",
    "org": "societe, entreprise, firma, company, organisation, organization, unternehmen, "
    "empresa, societa, azienda, bedrijf, raison sociale, etablissement",
    "department": "service, departement, abteilung, department, reparto",
    "title": "fonction, poste, titre, job title, position, beruf, funktion, cargo, puesto, "
    "ruolo, functie",
    "street": "adresse, address, rue, strasse, street, anschrift, direccion, indirizzo, adres, "
    "adresse postale, street address",
    "city": "ville, city, stadt, ort, ciudad, citta, localite, commune, town, plaats",
    "postcode": "code postal, cp, plz, postleitzahl, zip, zip code, postal code, postcode, "
    "codigo postal, cap, npa, postcode",
    "region": "region, etat, state, province, bundesland, kanton, canton, provincia",
    "country": "pays, country, land, pais, paese",
    "url": "site web, site, site internet, website, web, homepage, webseite, url, sitio web",
    "bday": "date de naissance, anniversaire, birthday, geburtstag, geburtsdatum, "
    "date of birth, birth date, fecha de nacimiento, compleanno, data di nascita",
    "note": "notes, note, remarques, remarque, commentaire, commentaires, bemerkung, "
    "bemerkungen, notiz, notizen, comments, comment, notas, nota, opmerkingen",
    "categories": "groupe, groupes, categorie, categories, category, groups, group, kategorie, "
    "kategorien, gruppe, gruppen, labels, etiquettes",
}
_PROPOSALS = {
    synonym.strip(): target
    for target, synonyms in _SYNONYMS.items()
    for synonym in synonyms.split(",")
}
_TYPE_WORDS = {
    "cell": ("mobile", "portable", "handy", "mobil", "cell", "natel", "gsm"),
    "work": ("work", "business", "pro", "bureau", "office", "geschaftlich", "buro", "firma"),
    "home": ("home", "privat", "prive", "domicile", "perso", "personnel", "personal"),
}


def normalise_header(header: str) -> str:
    """Lower case, no accents, punctuation as spaces: "E-Mail-Adresse" -> "e mail adresse"."""
    stripped = unicodedata.normalize("NFKD", header)
    stripped = "".join(char for char in stripped if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", stripped.lower()).split())


def _proposed(headers: list[str]) -> list[Rule]:
    return [_propose(column, header) for column, header in enumerate(headers)]


def _propose(column: int, header: str) -> Rule:
    name = normalise_header(header)
    target = _PROPOSALS.get(name) or _PROPOSALS.get(name.rstrip("s")) or _by_keyword(name)
    field, _, type_ = target.partition(":")
    return Rule(column, header, field, type_, type_ if field in ADDRESS_FIELDS else "")


def _by_keyword(name: str) -> str:
    """Headers like "E-mail (pro)" or "Tel. mobile": the field from one word, the type from
    another."""
    words = set(name.split())
    if words & {"mail", "email", "courriel"}:
        field = "email"
    elif words & {"tel", "telephone", "telefon", "phone", "telefono", "fon"}:
        field = "tel"
    else:
        return "ignore"
    for type_, markers in _TYPE_WORDS.items():
        if words & set(markers):
            return f"{field}:{type_}"
    return field


# --- user overrides ------------------------------------------------------------------


def _override(mapping: Mapping, headers: list[str], overrides: str) -> Mapping:
    chosen = parse_overrides(overrides, headers)
    rules = []
    for rule in mapping.rules:
        if rule.column not in chosen:
            rules.append(rule)
            continue
        field, type_ = chosen[rule.column]
        slot = type_ if field in ADDRESS_FIELDS else ""
        rules.append(Rule(rule.column, rule.header, field, type_, slot))
    return dataclasses.replace(mapping, format=f"{mapping.format}, overridden", rules=tuple(rules))


def parse_overrides(text: str, headers: list[str]) -> dict[int, tuple[str, str]]:
    """``"Nom=family,Portable=tel:cell"`` -> {column: (field, type)}; headers match without
    regard to case, and ``--no-header`` columns are named 1, 2, 3…"""
    by_name = {header.strip().casefold(): column for column, header in enumerate(headers)}
    chosen: dict[int, tuple[str, str]] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        header, equals, target = pair.rpartition("=")
        if not equals or not header.strip():
            raise ImportRefused(f"mapping {pair!r}: expected COLUMN=FIELD, e.g. Nom=family")
        column = by_name.get(header.strip().casefold())
        if column is None:
            raise ImportRefused(
                f"mapping {pair!r}: no column named {header.strip()!r} "
                f"(columns: {', '.join(headers)})"
            )
        field, _, type_ = target.strip().partition(":")
        if field not in FIELDS:
            raise ImportRefused(
                f"mapping {pair!r}: unknown field {field!r}; fields: " + ", ".join(FIELDS)
            )
        for one in filter(None, type_.split(",")):
            if one not in TYPES and one != "pref":
                raise ImportRefused(
                    f"mapping {pair!r}: unknown type {one!r}; types: " + ", ".join(TYPES)
                )
        chosen[column] = (field, type_)
    return chosen
