"""Contact import without a server: decoding, CSV tables and mappings, vCard 2.1 lines,
broken cards, the vCard writer, validation, stable identity, import groups, and the
importer's all-or-nothing commit."""

from __future__ import annotations

import codecs
import dataclasses
import os
from datetime import datetime

import pytest
import vobject

from config import loader
from davserver.services import Services
from plugins.contacts_import.build import vcard
from plugins.contacts_import.contact import Address, Contact, Typed
from plugins.contacts_import.csv_formats import mapping_for
from plugins.contacts_import.csv_reader import CsvOptions, parse_date, read_rows, read_table
from plugins.contacts_import.decoding import decode
from plugins.contacts_import.errors import BrokenCard, ImportRefused
from plugins.contacts_import.groups import categories, import_group, without_group
from plugins.contacts_import.importer import commit, plan
from plugins.contacts_import.validate import valid_email, valid_phone
from plugins.contacts_import.vcard_lines import read_cards, scan_cards
from plugins.content_lines import fold

GROUP = "Import 2027-03-01 14:05:09"
BOOK = "/ann/book/"


# --- decoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (codecs.BOM_UTF8 + "Prénom".encode(), "UTF-8 (BOM)"),
        ("Prénom".encode(), "UTF-8"),
        ("Prénom".encode("utf-16"), "UTF-16"),
        ("Prénom;Nom".encode("utf-16-le"), "UTF-16LE"),
        ("Prénom \u2013 \u201cZoë\u201d".encode("cp1252"), "Windows-1252"),
        (b"Pr\xe9nom \x81", "Latin-1"),
    ],
)
def test_decode_detects_the_encoding(raw, encoding):
    text, found = decode(raw)
    assert found == encoding
    assert text.startswith("Pr")
    assert "é" in text


def test_decode_refuses_binary_files():
    with pytest.raises(ImportRefused, match=r"not a text file.*line 2"):
        decode(b"name\n\x89PNG\x00\x00")


# --- CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize("separator", [",", ";", "\t", "|"])
def test_separator_is_detected(separator):
    text = separator.join(["Name", "E-mail", "Phone"]) + "\n"
    text += separator.join(["Ann, Jr", "ann@example.org", "+41 79 123 45 67"]) + "\n"
    text = text.replace("Ann, Jr", '"Ann, Jr"')
    table = read_table(text, CsvOptions())
    assert table.separator == separator
    assert table.headers == ["Name", "E-mail", "Phone"]
    assert table.rows == [(2, ["Ann, Jr", "ann@example.org", "+41 79 123 45 67"])]


def test_start_line_no_header_and_line_numbers_across_multiline_cells():
    text = 'Exported 2027\n\nDupont;Jean;"first\nsecond"\nMartin;Anne;x\n'
    table = read_table(text, CsvOptions(separator=";", header=False, start_line=3))
    assert table.headers == ["1", "2", "3"]
    assert table.rows == [(3, ["Dupont", "Jean", "first\nsecond"]), (5, ["Martin", "Anne", "x"])]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Nom", "family"),
        ("Prénom", "given"),
        ("Vorname", "given"),
        ("Last name", "family"),
        ("Courriel", "email"),
        ("E-Mail-Adresse", "email"),
        ("Téléphone", "tel"),
        ("Handy", "tel:cell"),
        ("Tél. portable", "tel:cell"),
        ("Société", "org"),
        ("Firma", "org"),
        ("PLZ", "postcode"),
        ("Code postal", "postcode"),
        ("Ville", "city"),
        ("Pays", "country"),
        ("Notes", "note"),
        ("Adresse", "street"),
        ("Couleur préférée", "ignore"),
    ],
)
def test_proposed_mapping_in_several_languages(header, field):
    mapping = mapping_for([header])
    assert mapping.format == "proposed"
    assert mapping.rules[0].describe() == field


def test_known_exports_are_recognised():
    assert mapping_for(["First Name", "Last Name", "E-mail 1 - Value"]).format == "google"
    assert (
        mapping_for(["Given Name", "Family Name", "E-mail 1 - Type", "E-mail 1 - Value"]).format
        == "google"
    )
    outlook = ["First Name", "Middle Name", "Last Name", "Title", "E-mail Address", "Mobile Phone"]
    assert mapping_for(outlook).format == "outlook"
    assert mapping_for(["First Name", "Display Name", "Primary Email"]).format == "thunderbird"


def test_user_overrides_win_and_bad_ones_are_refused():
    mapping = mapping_for(["Nom", "Truc"], "truc=tel:cell")
    assert [rule.describe() for rule in mapping.rules] == ["family", "tel:cell"]
    with pytest.raises(ImportRefused, match="no column named 'Machin'"):
        mapping_for(["Nom"], "Machin=family")
    with pytest.raises(ImportRefused, match="unknown field 'surname'"):
        mapping_for(["Nom"], "Nom=surname")
    with pytest.raises(ImportRefused, match="expected COLUMN=FIELD"):
        mapping_for(["Nom"], "family")


def test_google_rows_use_labels_and_multiple_values():
    headers = ["First Name", "Last Name", "Labels", "E-mail 1 - Label", "E-mail 1 - Value"]
    headers += ["Phone 1 - Label", "Phone 1 - Value", "Address 1 - Label", "Address 1 - City"]
    cells = ["Ann", "Lee", "* myContacts ::: Friends", "* Work", "a@x.org ::: b@y.org"]
    cells += ["Mobile", "+1 555 0100", "Home", "Boston"]
    table = read_table(",".join(headers) + "\n" + ",".join(cells) + "\n", CsvOptions())
    contact = read_rows(table, mapping_for(table.headers)).contacts[0]
    assert contact.emails == [Typed("a@x.org", "work"), Typed("b@y.org", "work")]
    assert contact.tels == [Typed("+1 555 0100", "cell")]
    assert contact.addresses == [Address(type="home", city="Boston")]
    assert contact.categories == ["Friends"]


@pytest.mark.parametrize(
    ("value", "day_first", "expected"),
    [
        ("1980-05-17", True, "1980-05-17"),
        ("19800517", True, "1980-05-17"),
        ("17.05.1980", True, "1980-05-17"),
        ("05/06/1980", True, "1980-06-05"),
        ("05/06/1980", False, "1980-05-06"),
        ("5/17/1980", True, "1980-05-17"),
        ("--05-17", True, "--05-17"),
        ("soon", True, None),
        ("31/31/1980", True, None),
    ],
)
def test_parse_date(value, day_first, expected):
    assert parse_date(value, day_first) == expected


# --- validation and the vCard writer -----------------------------------------------------


def test_email_and_phone_validation():
    assert valid_email("jean.dupont+news@exemple.fr")
    assert not valid_email("jean.dupont@")
    assert not valid_email("jean dupont@exemple.fr")
    assert valid_phone("+41 (0)79 123-45-67")
    assert valid_phone("01 23 45 67 89 ext. 12")
    assert not valid_phone("call me")
    assert not valid_phone("12")


def test_vcard_escapes_folds_and_reads_back():
    contact = Contact(
        2,
        given="Zoë",
        family="D'Arcy; Smith",
        emails=[Typed("zoe@example.org", "home")],
        tels=[Typed("+44 20 7946 0018", "work,fax")],
        org="Acme, Inc.",
        department="R&D",
        addresses=[Address(type="work", street="1 Main St\nFloor 2", city="London")],
        note="Met at the conference. " * 6,
        categories=["VIP"],
    )
    text = vcard(contact, "uid-1", GROUP)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    card = vobject.readOne(text)
    assert card.uid.value == "uid-1"
    assert card.n.value.family == "D'Arcy; Smith"
    assert card.fn.value == "Zoë D'Arcy; Smith"
    assert card.email.params["TYPE"] == ["INTERNET", "HOME"]
    assert card.tel.params["TYPE"] == ["WORK", "FAX"]
    assert card.org.value == ["Acme, Inc.", "R&D"]
    assert card.adr.value.street == "1 Main St\nFloor 2"
    assert card.note.value == "Met at the conference. " * 6
    assert card.categories.value == ["VIP", GROUP]


def test_fold_never_splits_a_character():
    line = "NOTE:" + "é" * 80
    folded = fold(line)
    assert folded.replace("\r\n ", "") == line
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))


# --- vCard lines and groups --------------------------------------------------------------


def test_vcard_21_lines_quoted_printable_soft_breaks_and_bare_parameters():
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Erste Zeile=0D=0A=\r\nZweite=\r\n Zeile\r\n"
        "TEL;WORK;VOICE:+49 30 1234\r\n"
        "END:VCARD\r\n"
    )
    card = read_cards(text)[0]
    note, tel = card.properties[1], card.properties[2]
    assert note.value == "Erste Zeile=0D=0AZweiteZeile"
    assert note.encoding() == "QUOTED-PRINTABLE"
    assert note.line == 3
    assert tel.params == [("", "WORK"), ("", "VOICE")]
    assert tel.line == 6


def test_an_unclosed_card_refuses_the_file():
    with pytest.raises(ImportRefused, match="line 4: the card has no END:VCARD"):
        read_cards("BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:B\r\n")
    with pytest.raises(ImportRefused, match="begins inside the card"):
        read_cards("BEGIN:VCARD\r\nFN:A\r\nBEGIN:VCARD\r\nEND:VCARD\r\n")


def test_without_group_keeps_other_categories_and_properties():
    text = vcard(Contact(1, given="A", emails=[Typed("a@b.org")], categories=["VIP"]), "u", GROUP)
    assert categories(text) == ["VIP", GROUP]
    removed = without_group(text, GROUP)
    assert categories(removed) == ["VIP"]
    assert "EMAIL;TYPE=INTERNET:a@b.org" in removed
    alone = vcard(Contact(1, given="A", emails=[Typed("a@b.org")]), "u", GROUP)
    assert "CATEGORIES" not in without_group(alone, GROUP)


# --- the importer ------------------------------------------------------------------------


def test_plan_reports_problems_and_skips_name_only_rows():
    raw = (
        "Nom;Prénom;Courriel;Téléphone\n"
        "Dupont;Jean;jean@exemple.fr;01 23 45 67 89\n"
        "Seul;Nom;;\n"
        "Martin;Anne;anne@@exemple;pas de numéro\n"
        "Petit;Luc;luc@exemple.fr;\n"
    ).encode("cp1252")
    planned = plan(raw, GROUP, set(), BOOK)
    assert planned.encoding == "Windows-1252"
    assert planned.separator == ";"
    assert [card.name for card in planned.cards] == ["Jean Dupont", "Luc Petit"]
    assert [str(problem) for problem in planned.problems] == [
        "line 3: skipped 'Nom Seul': only a name, nothing else to keep",
        "line 4: invalid email 'anne@@exemple' dropped",
        "line 4: invalid phone number 'pas de numéro' dropped",
        "line 4: skipped 'Anne Martin': only a name, nothing else to keep",
    ]


def test_plan_refuses_too_many_rows_up_front():
    raw = ("Name,Email\n" + "".join(f"P{i},p{i}@x.org\n" for i in range(10_001))).encode()
    with pytest.raises(ImportRefused, match="too many CSV rows: 10001, at most 10000"):
        plan(raw, GROUP, set(), BOOK)


def test_the_same_contacts_get_the_same_uids_in_the_same_address_book():
    raw = b"Name,Email\nAnn,ann@x.org\nBob,bob@x.org\n"
    first = plan(raw, GROUP, set(), BOOK)
    later = plan(raw, "Import 2027-03-02 09:00:00", set(), BOOK)
    assert [card.uid for card in first.cards] == [card.uid for card in later.cards]
    assert first.cards[0].uid != first.cards[1].uid
    elsewhere = plan(raw, GROUP, set(), "/ann/other/")
    assert {card.uid for card in elsewhere.cards}.isdisjoint(card.uid for card in first.cards)
    cards = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:ann@x.org\r\nEND:VCARD\r\n"
    assert (
        plan(cards, GROUP, set(), BOOK).cards[0].uid == plan(cards, "G", set(), BOOK).cards[0].uid
    )


def test_a_second_import_of_the_same_file_finds_every_card_present():
    raw = b"Name,Email\nAnn,ann@x.org\nBob,bob@x.org\nAnn,ann@x.org\n"
    first = plan(raw, GROUP, set(), BOOK)
    assert [card.name for card in first.cards] == ["Ann", "Bob"]
    assert [str(p) for p in first.problems] == [
        "line 4: skipped 'Ann': the card of line 2 has the same UID"
    ]
    again = plan(raw, GROUP, {card.uid for card in first.cards}, BOOK)
    assert (again.cards, again.already_present) == ([], 2)
    assert again.preview()["already_present"] == 2 and again.preview()["skipped"] == 1
    grown = b"Name,Email\nAnn,ann@x.org\nBob,bob@x.org\nCid,cid@x.org\n"
    more = plan(grown, GROUP, {card.uid for card in first.cards}, BOOK)
    assert ([card.name for card in more.cards], more.already_present) == (["Cid"], 2)


BROKEN = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nEMAIL:ann@x.org\r\nEND:VCARD\r\n"  # 1-5
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Open\r\nEMAIL:open@x.org\r\n"  # 6-9: no END
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob\r\nEMAIL:bob@x.org\r\nEND:VCARD\r\n"  # 10-14
    "BEGIN:VCARD\r\nVERSION:3.0\r\nno property here\r\nFN:Bad\r\nEND:VCARD\r\n"  # 15-19
    "BEGIN:VCARD\r\nVERSION:5.0\r\nFN:Future\r\nEMAIL:f@x.org\r\nEND:VCARD\r\n"  # 20-24
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cid\r\nEMAIL:cid@x.org\r\nEND:VCARD\r\n"  # 25-29
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Last\r\n"  # 30-32: no END
)


def test_broken_cards_are_skipped_and_reported_by_line():
    found = scan_cards(BROKEN)
    assert [card.line for card in found.cards] == [1, 10, 20, 25]
    assert [str(fault) for fault in found.broken] == [
        "line 10: a card begins inside the card of line 6",
        "line 17: not a vCard property (no colon): 'no property here'",
        "line 30: the card has no END:VCARD",
    ]
    planned = plan(BROKEN.encode(), GROUP, set(), BOOK)
    assert [card.name for card in planned.cards] == ["Ann", "Bob", "Cid"]
    assert planned.detected == 7 and planned.preview()["skipped"] == 4
    assert [str(problem) for problem in planned.problems] == [
        "line 10: skipped the card of line 6: a card begins inside the card of line 6",
        "line 17: skipped the card of line 15: not a vCard property (no colon): 'no property here'",
        "line 20: skipped the card: unsupported vCard version '5.0'",
        "line 30: skipped the card: the card has no END:VCARD",
    ]


def test_all_or_nothing_refuses_the_file_at_its_first_broken_card():
    with pytest.raises(BrokenCard, match="line 10: a card begins inside the card of line 6"):
        plan(BROKEN.encode(), GROUP, set(), BOOK, all_or_nothing=True)
    future = b"BEGIN:VCARD\r\nVERSION:5.0\r\nFN:F\r\nEMAIL:f@x.org\r\nEND:VCARD\r\n"
    with pytest.raises(BrokenCard, match=r"line 1: unsupported vCard version '5\.0'"):
        plan(future, GROUP, set(), BOOK, all_or_nothing=True)
    stray = b"END:VCARD\r\nBEGIN:VCARD\r\nFN:A\r\nEMAIL:a@x.org\r\nEND:VCARD\r\n"
    lenient = plan(stray, GROUP, set(), BOOK, kind="vcard")
    assert [str(p) for p in lenient.problems] == ["line 1: END:VCARD without BEGIN:VCARD; ignored"]
    assert lenient.detected == 1 and len(lenient.cards) == 1


def test_each_import_gets_a_group_of_its_own():
    now = datetime(2027, 3, 1, 14, 5, 9)
    assert import_group(now, set()) == "Import 2027-03-01 14:05:09"
    taken = {"Import 2027-03-01 14:05:09", "Import 2027-03-01 14:05:09 (2)"}
    assert import_group(now, taken) == "Import 2027-03-01 14:05:09 (3)"
    assert import_group(datetime(2027, 3, 1, 14, 5, 10), taken) == "Import 2027-03-01 14:05:10"


def test_commit_failing_half_way_stores_nothing(tmp_path, monkeypatch):
    settings = loader.load(None)
    settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, data=tmp_path)
    )
    collections = Services(settings).collections
    collections.create_addressbook("/ann/book/", "Book")
    raw = ("Name,Email\n" + "".join(f"P{i},p{i}@x.org\n" for i in range(100))).encode()
    planned = plan(raw, GROUP, set(), BOOK)
    real_rename, calls = os.rename, []

    def crash_on_the_50th(source, target):
        calls.append(target)
        if len(calls) == 50:
            raise OSError("power cut simulated")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", crash_on_the_50th)
    with pytest.raises(OSError, match="power cut"):
        commit(collections, "/ann/book/", planned)
    monkeypatch.undo()
    assert collections.items("/ann/book/") == {}
    assert commit(collections, "/ann/book/", planned) == 100
    assert len(collections.items("/ann/book/")) == 100
