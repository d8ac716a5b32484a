"""Acceptance: ``murmeli contacts import`` and the ``/api/contacts/imports`` routes on a real
server, with the exports people actually have (Google, Outlook, Thunderbird, a French
spreadsheet in Latin-1 and UTF-8, an old phone's vCard 2.1, a vCard 4.0), read back
over CardDAV card by card, field by field."""

from __future__ import annotations

import base64
import csv
import io
import json
from urllib.parse import urljoin
from xml.etree import ElementTree

import pytest
import requests
import vobject

from tests.murmeli_process import MurmeliServer, unique_name
from tests.test_vdirsyncer import Vdirsyncer

DAV = "{DAV:}"
PROPFIND = (
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
)
SYNC = (
    '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/>'
    "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 2 + b"\xff\xd9"

GOOGLE_HEADER = [
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Organization Department",
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "E-mail 2 - Label",
    "E-mail 2 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Phone 2 - Label",
    "Phone 2 - Value",
    "Address 1 - Label",
    "Address 1 - Formatted",
    "Address 1 - Street",
    "Address 1 - City",
    "Address 1 - PO Box",
    "Address 1 - Region",
    "Address 1 - Postal Code",
    "Address 1 - Country",
    "Address 1 - Extended Address",
    "Website 1 - Label",
    "Website 1 - Value",
]

OUTLOOK_HEADER = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Suffix",
    "Company",
    "Department",
    "Job Title",
    "Business Street",
    "Business Street 2",
    "Business Street 3",
    "Business City",
    "Business State",
    "Business Postal Code",
    "Business Country/Region",
    "Home Street",
    "Home Street 2",
    "Home Street 3",
    "Home City",
    "Home State",
    "Home Postal Code",
    "Home Country/Region",
    "Other Street",
    "Other Street 2",
    "Other Street 3",
    "Other City",
    "Other State",
    "Other Postal Code",
    "Other Country/Region",
    "Assistant's Phone",
    "Business Fax",
    "Business Phone",
    "Business Phone 2",
    "Callback",
    "Car Phone",
    "Company Main Phone",
    "Home Fax",
    "Home Phone",
    "Home Phone 2",
    "ISDN",
    "Mobile Phone",
    "Other Fax",
    "Other Phone",
    "Pager",
    "Primary Phone",
    "Radio Phone",
    "TTY/TDD Phone",
    "Telex",
    "Account",
    "Anniversary",
    "Assistant's Name",
    "Billing Information",
    "Birthday",
    "Business Address PO Box",
    "Categories",
    "Children",
    "Directory Server",
    "E-mail Address",
    "E-mail Type",
    "E-mail Display Name",
    "E-mail 2 Address",
    "E-mail 2 Type",
    "E-mail 2 Display Name",
    "E-mail 3 Address",
    "E-mail 3 Type",
    "E-mail 3 Display Name",
    "Gender",
    "Government ID Number",
    "Hobby",
    "Home Address PO Box",
    "Initials",
    "Internet Free Busy",
    "Keywords",
    "Language",
    "Location",
    "Manager's Name",
    "Mileage",
    "Notes",
    "Office Location",
    "Organizational ID Number",
    "Other Address PO Box",
    "Priority",
    "Private",
    "Profession",
    "Referred By",
    "Sensitivity",
    "Spouse",
    "User 1",
    "User 2",
    "User 3",
    "User 4",
    "Web Page",
]

THUNDERBIRD_HEADER = [
    "First Name",
    "Last Name",
    "Display Name",
    "Nickname",
    "Primary Email",
    "Secondary Email",
    "Screen Name",
    "Work Phone",
    "Home Phone",
    "Fax Number",
    "Pager Number",
    "Mobile Number",
    "Home Address",
    "Home Address 2",
    "Home City",
    "Home State",
    "Home ZipCode",
    "Home Country",
    "Work Address",
    "Work Address 2",
    "Work City",
    "Work State",
    "Work ZipCode",
    "Work Country",
    "Job Title",
    "Department",
    "Organization",
    "Web Page 1",
    "Web Page 2",
    "Birth Year",
    "Birth Month",
    "Birth Day",
    "Custom 1",
    "Custom 2",
    "Custom 3",
    "Custom 4",
    "Notes",
    "",
]


def csv_export(header: list[str], rows: list[dict], quote_all: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(
        out, lineterminator="\r\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    )
    writer.writerow(header)
    for row in rows:
        unknown = set(row) - set(header)
        assert not unknown, unknown
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode()


GOOGLE = csv_export(
    GOOGLE_HEADER,
    [
        {
            "First Name": "Ada",
            "Last Name": "Lovelace",
            "Name Prefix": "Lady",
            "Nickname": "Ada",
            "Organization Name": "Analytical Engines Ltd",
            "Organization Title": "Programmer",
            "Organization Department": "Research",
            "Birthday": "1815-12-10",
            "Notes": "First programmer,\nreally",
            "Labels": "* myContacts ::: Friends",
            "E-mail 1 - Label": "* Home",
            "E-mail 1 - Value": "ada@example.org",
            "E-mail 2 - Label": "Work",
            "E-mail 2 - Value": "ada@engines.example",
            "Phone 1 - Label": "Mobile",
            "Phone 1 - Value": "+44 7700 900123",
            "Phone 2 - Label": "Work",
            "Phone 2 - Value": "+44 20 7946 0000",
            "Address 1 - Label": "Home",
            "Address 1 - Formatted": "12 St James's Square\nLondon SW1Y 4JH",
            "Address 1 - Street": "12 St James's Square",
            "Address 1 - City": "London",
            "Address 1 - Postal Code": "SW1Y 4JH",
            "Address 1 - Country": "United Kingdom",
            "Website 1 - Label": "Profile",
            "Website 1 - Value": "https://example.org/ada",
        },
        {
            "First Name": "Charles",
            "Last Name": "Babbage",
            "Labels": "* myContacts",
            "E-mail 1 - Label": "* Other",
            "E-mail 1 - Value": "charles@example.org ::: cb@example.net",
        },
        {"First Name": "Nameonly", "Last Name": "Person", "Labels": "* myContacts"},
    ],
)

OUTLOOK = csv_export(
    OUTLOOK_HEADER,
    [
        {
            "Title": "Mr.",
            "First Name": "John",
            "Middle Name": "Q.",
            "Last Name": "Public",
            "Suffix": "Jr.",
            "Company": "Contoso Ltd",
            "Department": "Sales",
            "Job Title": "Account Manager",
            "Business Street": "1 Microsoft Way",
            "Business City": "Redmond",
            "Business State": "WA",
            "Business Postal Code": "98052",
            "Business Country/Region": "United States",
            "Business Phone": "(425) 555-0100",
            "Mobile Phone": "(425) 555-0199",
            "Home Fax": "(425) 555-0111",
            "Anniversary": "0/0/00",
            "Birthday": "5/6/1980",
            "Categories": "Clients;VIP",
            "E-mail Address": "john.public@contoso.example",
            "E-mail Type": "SMTP",
            "E-mail Display Name": "John Public (john.public@contoso.example)",
            "Gender": "Unspecified",
            "Notes": "Prefers phone calls",
            "Priority": "Normal",
            "Private": "False",
            "Sensitivity": "Normal",
            "Web Page": "https://contoso.example/john",
        }
    ],
    quote_all=True,
)

THUNDERBIRD = csv_export(
    THUNDERBIRD_HEADER,
    [
        {
            "First Name": "Grace",
            "Last Name": "Hopper",
            "Display Name": "Admiral Grace Hopper",
            "Nickname": "Amazing Grace",
            "Primary Email": "grace@navy.example",
            "Secondary Email": "ghopper@example.org",
            "Work Phone": "+1 202 555 0143",
            "Mobile Number": "+1 202 555 0187",
            "Work Address": "1000 Navy Pentagon",
            "Work City": "Washington",
            "Work State": "DC",
            "Work ZipCode": "20350",
            "Work Country": "USA",
            "Organization": "US Navy",
            "Job Title": "Rear Admiral",
            "Birth Year": "1906",
            "Birth Month": "12",
            "Birth Day": "9",
            "Notes": "COBOL",
        }
    ],
)

FRENCH = (
    "Nom;Prénom;Société;Courriel;Téléphone;Portable;Adresse;Code postal;Ville;Pays;Remarques\r\n"
    "Dupont;Élodie;Société Générale;elodie.dupont@exemple.fr;01 23 45 67 89;06 12 34 56 78;"
    "12 rue de l'Église;25000;Besançon;France;Rencontrée à Noël\r\n"
    "Müller;Jérôme;Garage Müller;jerome@@exemple;pas de téléphone;;;;;;\r\n"
    "Leclerc;François;;;;;;;;;\r\n"
)


def photo_lines() -> str:
    encoded = base64.b64encode(PHOTO).decode()
    return "".join(f" {encoded[i : i + 72]}\r\n" for i in range(0, len(encoded), 72))


OLD_PHONE = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\r\n"
    "TEL;CELL;PREF:+491711234567\r\n"
    "TEL;HOME:030 1234567\r\n"
    "TEL;WORK:unknown\r\n"
    "EMAIL;INTERNET:juergen@example.de\r\n"
    "ADR;HOME;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:;;Hauptstra=DFe 5;K=F6ln;;50667;"
    "Deutschland\r\n"
    "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Anruf am Montag, bitte=0D=0A=\r\n"
    "zweite Zeile\r\n"
    "PHOTO;ENCODING=BASE64;TYPE=JPEG:\r\n" + photo_lines() + "\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Nur;Name;;;\r\nFN:Name Nur\r\nEND:VCARD\r\n"
).encode()

VCARD4 = (
    b"BEGIN:VCARD\r\nVERSION:4.0\r\n"
    b"UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    b"FN:Simon Perreault\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\n"
    b"BDAY:--0203\r\nGENDER:M\r\nLANG;PREF=1:fr\r\n"
    b"EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\n"
    b'TEL;VALUE=uri;TYPE="work,voice";PREF=1:tel:+1-418-656-9254;ext=102\r\n'
    b"PHOTO:data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg"
    b"\r\n YGD4DwABBAEAcCBlCwAAAABJRU5ErkJggg==\r\n"
    b"CATEGORIES:Colleagues\r\n"
    b"END:VCARD\r\n"
)


PHOTO_URI = (
    "PHOTO:data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg"
    "YGD4DwABBAEAcCBlCwAAAABJRU5ErkJggg=="
)


# --- helpers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alice(server: MurmeliServer) -> tuple[str, str]:
    return server.add_user("alice")


def run_import(server, tmp_path, content: bytes, *args: str, suffix=".csv"):
    path = tmp_path / f"{unique_name('export')}{suffix}"
    path.write_bytes(content)
    return server.cli("contacts", "import", str(path), *args)


def new_book(user: str) -> tuple[str, str]:
    path = f"/{user}/{unique_name('book')}/"
    return path, unique_name("Book ")


def cards(server, auth, book: str) -> list[vobject.base.Component]:
    """Every card of ``book`` as a CardDAV client reads it: PROPFIND, then GET each."""
    answer = requests.request(
        "PROPFIND", urljoin(server.url, book), auth=auth, headers={"Depth": "1"}, data=PROPFIND
    )
    if answer.status_code == 404:
        return []
    assert answer.status_code == 207, answer.text
    hrefs = [
        element.text
        for element in ElementTree.fromstring(answer.content).iter(f"{DAV}href")
        if element.text and element.text.endswith(".vcf")
    ]
    found = []
    for href in hrefs:
        response = requests.get(urljoin(server.url, href), auth=auth)
        assert response.status_code == 200
        found.append(vobject.readOne(response.text))
    return sorted(found, key=lambda card: card.fn.value)


def simon_href(server, auth, book: str) -> str:
    """The file name of the only card of ``book``."""
    answer = requests.request(
        "PROPFIND", urljoin(server.url, book), auth=auth, headers={"Depth": "1"}, data=PROPFIND
    )
    hrefs = [e.text for e in ElementTree.fromstring(answer.content).iter(f"{DAV}href")]
    (href,) = [href for href in hrefs if href and href.endswith(".vcf")]
    return href.rsplit("/", 1)[1]


def values(card, name: str) -> list:
    return [prop.value for prop in card.contents.get(name, [])]


def types(card, name: str) -> list[list[str]]:
    return [sorted(t.upper() for t in prop.params.get("TYPE", [])) for prop in card.contents[name]]


def import_groups(card) -> list[str]:
    return [c for c in card.categories.value if c.startswith("Import ")]


# --- each export, field by field ---------------------------------------------------------


def test_google_csv(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(server, tmp_path, GOOGLE, "--addressbook", book, "--new-addressbook", name)
    assert result.returncode == 0, result.stderr
    assert "format: google" in result.stdout
    assert "3 contacts detected, 2 to import" in result.stdout
    assert "line 6: skipped 'Nameonly Person': only a name" in result.stdout
    charles, ada = cards(server, alice, book)
    assert ada.uid.value and charles.uid.value and ada.uid.value != charles.uid.value
    assert ada.version.value == "3.0"
    assert ada.n.value.family == "Lovelace" and ada.n.value.given == "Ada"
    assert ada.n.value.prefix == "Lady"
    assert ada.fn.value == "Lady Ada Lovelace"
    assert ada.nickname.value == "Ada"
    assert values(ada, "email") == ["ada@example.org", "ada@engines.example"]
    assert types(ada, "email") == [["HOME", "INTERNET"], ["INTERNET", "WORK"]]
    assert values(ada, "tel") == ["+44 7700 900123", "+44 20 7946 0000"]
    assert types(ada, "tel") == [["CELL"], ["WORK"]]
    assert ada.org.value == ["Analytical Engines Ltd", "Research"]
    assert ada.title.value == "Programmer"
    address = ada.adr.value
    assert (address.street, address.city, address.code, address.country) == (
        "12 St James's Square",
        "London",
        "SW1Y 4JH",
        "United Kingdom",
    )
    assert types(ada, "adr") == [["HOME"]]
    assert ada.bday.value == "1815-12-10"
    assert ada.note.value == "First programmer,\nreally"
    assert ada.url.value == "https://example.org/ada"
    assert ada.categories.value[0] == "Friends" and len(import_groups(ada)) == 1
    assert values(charles, "email") == ["charles@example.org", "cb@example.net"]
    assert import_groups(charles) == import_groups(ada)
    sync = requests.request(
        "REPORT", urljoin(server.url, book), auth=alice, data=SYNC, headers={"Depth": "0"}
    )
    assert sync.status_code == 207
    synced = [h.text for h in ElementTree.fromstring(sync.content).iter(f"{DAV}href")]
    assert len([href for href in synced if href.endswith(".vcf")]) == 2


def test_outlook_csv_with_its_long_header(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(server, tmp_path, OUTLOOK, "--addressbook", book, "--new-addressbook", name)
    assert result.returncode == 0, result.stderr
    assert "format: outlook" in result.stdout
    (john,) = cards(server, alice, book)
    assert john.uid.value
    n = john.n.value
    assert (n.prefix, n.given, n.additional, n.family, n.suffix) == (
        "Mr.",
        "John",
        "Q.",
        "Public",
        "Jr.",
    )
    assert john.org.value == ["Contoso Ltd", "Sales"]
    assert john.title.value == "Account Manager"
    assert values(john, "email") == ["john.public@contoso.example"]
    assert values(john, "tel") == ["(425) 555-0100", "(425) 555-0111", "(425) 555-0199"]
    assert types(john, "tel") == [["WORK"], ["FAX", "HOME"], ["CELL"]]
    assert john.adr.value.street == "1 Microsoft Way" and john.adr.value.region == "WA"
    assert types(john, "adr") == [["WORK"]]
    assert john.bday.value == "1980-05-06"  # US month first
    assert john.categories.value[:2] == ["Clients", "VIP"]
    assert john.note.value == "Prefers phone calls"
    assert john.url.value == "https://contoso.example/john"


def test_thunderbird_csv(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(
        server, tmp_path, THUNDERBIRD, "--addressbook", book, "--new-addressbook", name
    )
    assert result.returncode == 0, result.stderr
    assert "format: thunderbird" in result.stdout
    (grace,) = cards(server, alice, book)
    assert grace.fn.value == "Admiral Grace Hopper"
    assert (grace.n.value.given, grace.n.value.family) == ("Grace", "Hopper")
    assert grace.nickname.value == "Amazing Grace"
    assert values(grace, "email") == ["grace@navy.example", "ghopper@example.org"]
    assert types(grace, "tel") == [["WORK"], ["CELL"]]
    assert grace.adr.value.city == "Washington" and grace.adr.value.code == "20350"
    assert grace.org.value == ["US Navy"]
    assert grace.bday.value == "1906-12-09"
    assert grace.note.value == "COBOL"


@pytest.mark.parametrize(("encoding", "reported"), [("cp1252", "Windows-1252"), ("utf-8", "UTF-8")])
def test_french_spreadsheet_with_accents(server, alice, tmp_path, encoding, reported):
    book, name = new_book(alice[0])
    raw = FRENCH.encode(encoding)
    result = run_import(server, tmp_path, raw, "--addressbook", book, "--new-addressbook", name)
    assert result.returncode == 0, result.stderr
    assert f"file: csv, {reported}" in result.stdout
    assert "format: proposed; separator ';'" in result.stdout
    assert "Portable=tel:cell" in result.stdout
    assert "line 3: invalid email 'jerome@@exemple' dropped" in result.stdout
    assert "line 3: invalid phone number 'pas de téléphone' dropped" in result.stdout
    assert "line 4: skipped 'François Leclerc'" in result.stdout
    jerome, elodie = cards(server, alice, book)
    assert (elodie.n.value.family, elodie.n.value.given) == ("Dupont", "Élodie")
    assert elodie.org.value == ["Société Générale"]
    assert values(elodie, "email") == ["elodie.dupont@exemple.fr"]
    assert values(elodie, "tel") == ["01 23 45 67 89", "06 12 34 56 78"]
    assert types(elodie, "tel") == [[], ["CELL"]]
    address = elodie.adr.value
    assert (address.street, address.code, address.city, address.country) == (
        "12 rue de l'Église",
        "25000",
        "Besançon",
        "France",
    )
    assert elodie.note.value == "Rencontrée à Noël"
    assert jerome.fn.value == "Jérôme Müller"
    assert jerome.org.value == ["Garage Müller"]
    assert "email" not in jerome.contents and "tel" not in jerome.contents


def test_mapping_override_no_header_and_start_line(server, alice, tmp_path):
    book, name = new_book(alice[0])
    raw = b"Export du 1er mars\r\nDupont|Jean|j@exemple.fr|Chef\r\n"
    result = run_import(
        server, tmp_path, raw,
        "--addressbook", book, "--new-addressbook", name,
        "--no-header", "--start-line", "2", "--separator", "|",
        "--map", "1=family,2=given,3=email,4=title",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (jean,) = cards(server, alice, book)
    assert (jean.n.value.family, jean.n.value.given) == ("Dupont", "Jean")
    assert jean.email.value == "j@exemple.fr" and jean.title.value == "Chef"


def test_vcard_21_from_an_old_phone(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(
        server, tmp_path, OLD_PHONE, "--addressbook", book, "--new-addressbook", name,
        suffix=".vcf",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "line 7: invalid phone number 'unknown' dropped" in result.stdout
    assert "skipped 'Name Nur': only a name" in result.stdout
    (juergen,) = cards(server, alice, book)
    assert juergen.version.value == "3.0"
    assert juergen.uid.value
    assert (juergen.n.value.family, juergen.n.value.given) == ("Müller", "Jürgen")
    assert juergen.fn.value == "Jürgen Müller"
    assert values(juergen, "tel") == ["+491711234567", "030 1234567"]
    assert types(juergen, "tel") == [["CELL", "PREF"], ["HOME"]]
    assert juergen.email.value == "juergen@example.de"
    assert (juergen.adr.value.street, juergen.adr.value.city) == ("Hauptstraße 5", "Köln")
    assert juergen.note.value == "Anruf am Montag, bitte\r\nzweite Zeile".replace("\r\n", "\n")
    assert juergen.photo.value == PHOTO
    assert juergen.photo.params["TYPE"] == ["JPEG"]
    assert len(import_groups(juergen)) == 1


def test_vcard_40_keeps_its_version_uid_and_fields(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(
        server, tmp_path, VCARD4, "--addressbook", book, "--new-addressbook", name, suffix=".vcf"
    )
    assert result.returncode == 0, result.stderr
    (simon,) = cards(server, alice, book)
    assert simon.version.value == "4.0"
    assert simon.uid.value == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert simon.bday.value == "--0203"
    assert simon.gender.value == "M"
    assert simon.tel.value == "tel:+1-418-656-9254;ext=102"
    raw = requests.get(urljoin(server.url, book + simon_href(server, alice, book)), auth=alice)
    assert PHOTO_URI in raw.text.replace("\r\n ", "")
    assert simon.categories.value[0] == "Colleagues" and len(import_groups(simon)) == 1
    again = run_import(server, tmp_path, VCARD4, "--addressbook", book, suffix=".vcf")
    assert again.returncode == 0, again.stderr
    assert "1 already present, nothing added" in again.stdout
    assert len(cards(server, alice, book)) == 1


# --- limits, all or nothing, dry run ----------------------------------------------------


def test_a_file_over_10000_lines_is_refused_and_nothing_stored(server, alice, tmp_path):
    book, name = new_book(alice[0])
    rows = "".join(f"P{i},p{i}@example.org\r\n" for i in range(10_001))
    result = run_import(
        server, tmp_path, f"Name,Email\r\n{rows}".encode(),
        "--addressbook", book, "--new-addressbook", name,
    )  # fmt: skip
    assert result.returncode == 2
    assert "too many CSV rows: 10001, at most 10000 per file" in result.stderr
    assert "Traceback" not in result.stderr
    assert cards(server, alice, book) == []


GOOD_CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Good {0}\r\nN:{0};Good;;;\r\nEMAIL:g{0}@x.org\r\n"
GOOD_CARD += "END:VCARD\r\n"
BROKEN_FILE = (
    GOOD_CARD.format(1)  # lines 1-6
    + "BEGIN:VCARD\r\nVERSION:3.0\r\nthis line is no property\r\nEND:VCARD\r\n"  # 7-10
    + GOOD_CARD.format(2)  # 11-16
    + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Open\r\nEMAIL:open@x.org\r\n"  # 17-20: no END
    + GOOD_CARD.format(3)  # 21-26
).encode()


def test_a_bad_card_in_the_middle_leaves_the_address_book_as_it_was(server, alice, tmp_path):
    book, name = new_book(alice[0])
    first = run_import(server, tmp_path, GOOGLE, "--addressbook", book, "--new-addressbook", name)
    assert first.returncode == 0, first.stderr
    before = [card.serialize() for card in cards(server, alice, book)]
    result = run_import(
        server, tmp_path, BROKEN_FILE, "--addressbook", book, "--all-or-nothing", suffix=".vcf"
    )
    assert result.returncode == 2
    assert "line 9: not a vCard property" in result.stderr
    assert [card.serialize() for card in cards(server, alice, book)] == before


def test_broken_cards_are_skipped_and_reported_by_line(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(
        server, tmp_path, BROKEN_FILE, "--addressbook", book, "--new-addressbook", name,
        suffix=".vcf",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "5 contacts detected, 3 to import" in result.stdout
    assert "2 skipped" in result.stdout
    assert "line 9: skipped the card of line 7: not a vCard property" in result.stdout
    assert "line 21: skipped the card of line 17: a card begins inside" in result.stdout
    assert [card.fn.value for card in cards(server, alice, book)] == [
        "Good 1",
        "Good 2",
        "Good 3",
    ]


def test_importing_the_same_file_again_adds_nothing(server, tmp_path):
    user = server.add_user("again")
    assert requests.request("PROPFIND", urljoin(server.url, f"/{user[0]}/"), auth=user).ok
    book = f"/{user[0]}/contacts/"
    for export, count in [(GOOGLE, 2), (FRENCH.encode(), 2), (OLD_PHONE, 1)]:
        suffix = ".vcf" if export is OLD_PHONE else ".csv"
        first = run_import(server, tmp_path, export, "--addressbook", book, suffix=suffix)
        assert first.returncode == 0, first.stderr
        assert f"imported {count} contacts" in first.stdout
        again = run_import(server, tmp_path, export, "--addressbook", book, suffix=suffix)
        assert again.returncode == 0, again.stderr
        assert f"{count} already present, nothing added" in again.stdout
    assert len(cards(server, user, book)) == 5
    # three imports, all within a minute: three groups
    listing = server.cli("contacts", "import-group", "list", book)
    groups = [line.rsplit(None, 1) for line in listing.stdout.splitlines()[1:]]
    assert len(groups) == 3, listing.stdout
    assert sorted(int(size) for _, size in groups) == [1, 2, 2]


def test_dry_run_writes_nothing(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(
        server, tmp_path, GOOGLE, "--addressbook", book, "--new-addressbook", name, "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert "dry run: nothing written (2 contacts would be imported)" in result.stdout
    assert "FN:Lady Ada Lovelace" in result.stdout
    assert cards(server, alice, book) == []


# --- import groups ----------------------------------------------------------------------


def test_removing_the_import_group_keeps_the_contacts_unless_asked(server, tmp_path):
    user = server.add_user("groups")
    assert requests.request("PROPFIND", urljoin(server.url, f"/{user[0]}/"), auth=user).ok
    book = f"/{user[0]}/contacts/"
    result = run_import(server, tmp_path, GOOGLE, "--addressbook", book)
    assert result.returncode == 0, result.stderr
    group = import_groups(cards(server, user, book)[0])[0]
    listing = server.cli("contacts", "import-group", "list", book)
    assert group in listing.stdout and " 2" in listing.stdout
    removed = server.cli("contacts", "import-group", "remove", book, group)
    assert removed.returncode == 0, removed.stderr
    kept = cards(server, user, book)
    assert len(kept) == 2
    charles, ada = kept
    assert ada.categories.value == ["Friends"]
    assert "categories" not in charles.contents
    again = run_import(server, tmp_path, OUTLOOK, "--addressbook", book)
    group = import_groups(next(c for c in cards(server, user, book) if "John" in c.fn.value))[0]
    deleted = server.cli("contacts", "import-group", "remove", book, group, "--delete-contacts")
    assert again.returncode == 0 and deleted.returncode == 0, deleted.stderr
    assert [card.fn.value for card in cards(server, user, book)] == [
        "Charles Babbage",
        "Lady Ada Lovelace",
    ]


# --- the API ----------------------------------------------------------------------------


def test_api_upload_preview_commit_owner_only(server):
    owner, other = server.add_user("apiowner"), server.add_user("apiother")
    api = urljoin(server.url, "/api/contacts/imports")
    raw = FRENCH.encode("cp1252")
    headers = {"Content-Type": "text/csv"}
    params = {"addressbook": f"/{owner[0]}/", "new_addressbook": "Adressen", "first": "5"}
    refused = requests.post(
        api, params={"addressbook": f"/{other[0]}/contacts/"}, data=raw, headers=headers, auth=owner
    )
    assert refused.status_code == 403
    uploaded = requests.post(api, params=params, data=raw, headers=headers, auth=owner)
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    preview = body["preview"]
    assert (preview["detected"], preview["to_import"], preview["skipped"]) == (3, 2, 1)
    assert preview["encoding"] == "Windows-1252" and preview["separator"] == ";"
    assert {"column": "Prénom", "field": "given"} in preview["mapping"]
    assert {"line": 3, "message": "invalid email 'jerome@@exemple' dropped"} in preview["problems"]
    assert "FN:Élodie Dupont" in preview["first"][0]["vcard"]
    book = body["addressbook"]
    assert cards(server, owner, book) == []
    item = f"{api}/{body['id']}"
    assert requests.get(item, auth=other).status_code == 404
    assert requests.post(f"{item}/commit", auth=other).status_code == 404
    shown = requests.get(item, auth=owner)
    assert shown.status_code == 200
    assert [card["uid"] for card in shown.json()["preview"]["first"]] == [
        card["uid"] for card in preview["first"]
    ]
    committed = requests.post(f"{item}/commit", auth=owner)
    assert committed.status_code == 200, committed.text
    assert committed.json()["imported"] == 2
    stored = cards(server, owner, book)
    assert sorted(card.uid.value for card in stored) == sorted(c["uid"] for c in preview["first"])
    assert requests.post(f"{item}/commit", auth=owner).status_code == 404
    groups = requests.get(
        urljoin(server.url, "/api/contacts/import-groups"),
        params={"addressbook": book},
        auth=owner,
    )
    assert groups.json() == [{"group": preview["group"], "cards": 2}]
    again = requests.post(api, params={"addressbook": book}, data=raw, headers=headers, auth=owner)
    assert again.status_code == 201, again.text
    seen = again.json()["preview"]
    assert (seen["to_import"], seen["already_present"], seen["skipped"]) == (0, 2, 1)
    repeated = requests.post(f"{api}/{again.json()['id']}/commit", auth=owner)
    assert repeated.status_code == 200, repeated.text
    assert (repeated.json()["imported"], repeated.json()["already_present"]) == (0, 2)
    assert len(cards(server, owner, book)) == 2


def test_api_refuses_bad_files_with_a_reason(server, alice):
    api = urljoin(server.url, "/api/contacts/imports")
    params = {"addressbook": f"/{alice[0]}/", "new_addressbook": "X"}
    binary = requests.post(
        api, params=params, data=b"\x89PNG\r\n\x1a\n\x00\x00", headers={"Content-Type": "text/csv"},
        auth=alice,
    )  # fmt: skip
    assert binary.status_code == 400
    assert "not a text file" in binary.json()["error"]
    empty = requests.post(api, params=params, data=b"", auth=alice)
    assert empty.status_code == 400
    bad_map = requests.post(
        api,
        params={**params, "map": "Nope=family"},
        data=FRENCH.encode(),
        headers={"Content-Type": "text/csv"},
        auth=alice,
    )
    assert bad_map.status_code == 400 and "no column named 'Nope'" in bad_map.json()["error"]
    vcard = {"Content-Type": "text/vcard"}
    strict = requests.post(
        api, params={**params, "all_or_nothing": "true"}, data=BROKEN_FILE, headers=vcard,
        auth=alice,
    )  # fmt: skip
    assert strict.status_code == 400
    assert strict.json()["error"].startswith("line 9: not a vCard property")
    lenient = requests.post(api, params=params, data=BROKEN_FILE, headers=vcard, auth=alice)
    assert lenient.status_code == 201, lenient.text
    assert lenient.json()["preview"]["to_import"] == 3
    assert {
        "line": 21,
        "message": "skipped the card of line 17: a card begins inside the card of line 17",
    } in lenient.json()["preview"]["problems"]


def test_imported_cards_read_back_in_a_vdirsyncer_client(server, alice, tmp_path):
    book, name = new_book(alice[0])
    result = run_import(server, tmp_path, GOOGLE, "--addressbook", book, "--new-addressbook", name)
    assert result.returncode == 0, result.stderr
    served = {card.uid.value: card.fn.value for card in cards(server, alice, book)}

    collection = book.strip("/").split("/")[1]
    account = {"url": server.url, "username": alice[0], "password": alice[1]}
    remote = "".join(f"{key} = {json.dumps(value)}\n" for key, value in account.items())
    config = tmp_path / "vdirsyncer.conf"
    config.write_text(
        f"[general]\nstatus_path = {json.dumps(str(tmp_path / 'status'))}\n\n"
        f'[pair book]\na = "book_local"\nb = "book_remote"\ncollections = ["{collection}"]\n\n'
        f'[storage book_local]\ntype = "filesystem"\npath = {json.dumps(str(tmp_path))}\n'
        'fileext = ".vcf"\n\n'
        f'[storage book_remote]\ntype = "carddav"\n{remote}',
        encoding="utf-8",
    )
    (tmp_path / collection).mkdir()  # the local side of the pair: no prompt to create it
    client = Vdirsyncer(config)
    client.run("discover")
    client.run("sync")

    local = {}
    for path in (tmp_path / collection).glob("*.vcf"):
        card = vobject.readOne(path.read_text(encoding="utf-8"))
        local[card.uid.value] = card.fn.value
    assert local == served
    assert len(local) == 2
