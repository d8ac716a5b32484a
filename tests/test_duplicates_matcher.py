"""The duplicate matcher and merger as plain functions: which cards merge, and into what."""

from __future__ import annotations

import pytest
import vobject

from plugins.duplicates import normalise
from plugins.duplicates.cards import read_card
from plugins.duplicates.matcher import find_groups, group_id
from plugins.duplicates.merge import choose_reference, merge_group

REGION = "CH"


def vcard(uid: str, fn: str, *lines: str, n: str | None = None) -> str:
    name = f"N:{n}\r\n" if n is not None else ""
    body = "".join(f"{line}\r\n" for line in lines)
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{fn}\r\n{name}{body}END:VCARD\r\n"


def groups_of(*texts: str) -> list[list[str]]:
    cards = [read_card(f"{i}.vcf", text, REGION) for i, text in enumerate(texts)]
    return [group.uids for group in find_groups(cards)]


# --- normalisation ----------------------------------------------------------------------


def test_emails_keep_dots_and_tags_except_at_gmail():
    assert normalise.email("  Jean.Dupont@Example.ORG ") == "jean.dupont@example.org"
    assert normalise.email("jean.dupont+news@example.org") == "jean.dupont+news@example.org"
    assert normalise.email("Jean.Dupont+news@googlemail.com") == "jeandupont@gmail.com"
    assert normalise.email("no address") == ""


def test_phone_numbers_become_e164_in_the_default_region():
    forms = {"+41 79 123 45 67", "079 123 45 67", "0041791234567", "tel:+41-79-123-45-67"}
    assert {normalise.phone(form, "CH") for form in forms} == {"+41791234567"}
    assert normalise.phone("01 42 68 53 00", "FR") == "+33142685300"


def test_names_compare_as_folded_word_sets_with_nicknames():
    assert normalise.name_tokens("Dupont Jean") == normalise.name_tokens("jean DUPONT")
    assert normalise.name_tokens("Hélène Müller") == normalise.name_tokens("Helene Muller")
    assert normalise.names_agree(
        normalise.name_tokens("Bob Smith"), normalise.name_tokens("Robert Smith")
    )
    assert normalise.names_agree(
        normalise.name_tokens("J. Dupont"), normalise.name_tokens("Jean-Pierre Dupont")
    )
    assert not normalise.names_agree(
        normalise.name_tokens("Jane Smith"), normalise.name_tokens("John Smith")
    )


# --- groups that must merge -------------------------------------------------------------


def test_same_email_in_another_case_merges():
    assert groups_of(
        vcard("a", "Jean Dupont", "EMAIL:Jean.Dupont@Example.org"),
        vcard("b", "J. Dupont", "EMAIL:jean.dupont@example.ORG"),
    ) == [["a", "b"]]


def test_same_phone_in_three_formats_merges():
    assert groups_of(
        vcard("a", "Anna Keller", "TEL;TYPE=CELL:+41 79 123 45 67"),
        vcard("b", "Anna Keller", "TEL:079 123 45 67"),
        vcard("c", "A. Keller", "TEL:0041791234567"),
        vcard("d", "Other Person", "TEL:079 765 43 21"),
    ) == [["a", "b", "c"]]


def test_swapped_name_order_with_the_same_company_merges():
    assert groups_of(
        vcard("a", "Dupont Jean", "ORG:Acme SA"),
        vcard("b", "Jean Dupont", "ORG:ACME SA;Sales", n="Dupont;Jean;;;"),
    ) == [["a", "b"]]


def test_accents_with_the_same_email_merge():
    assert groups_of(
        vcard("a", "Hélène Favre", "EMAIL:helene@example.ch"),
        vcard("b", "Helene Favre", "EMAIL:HELENE@example.ch"),
    ) == [["a", "b"]]


def test_nickname_with_the_same_phone_merges():
    assert groups_of(
        vcard("a", "Bob Smith", "TEL:+41 44 555 12 34"),
        vcard("b", "Robert Smith", "TEL:044 555 12 34"),
    ) == [["a", "b"]]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Ann Lee", "Annie Lee"),
        ("Kate Moser", "Katherine Moser"),
        ("Liz Weber", "Elizabeth Weber"),
        ("Bill Graf", "William Graf"),
        ("Hans Frei", "Johannes Frei"),
        ("J. Smith", "John Smith"),
        ("Smith, J.", "Annie John Smith"),
    ],
)
def test_a_nickname_or_an_initial_with_the_same_email_merges(first: str, second: str):
    assert groups_of(
        vcard("a", first, "EMAIL:shared@example.org"),
        vcard("b", second, "EMAIL:Shared@Example.org"),
    ) == [["a", "b"]]


def test_same_name_and_birthday_merges_even_without_year():
    assert groups_of(
        vcard("a", "Lea Brunner", "BDAY:1985-03-02"),
        vcard("b", "Brunner Lea", "BDAY:--0302"),
    ) == [["a", "b"]]


# --- near misses that must not ----------------------------------------------------------


def test_two_jean_martins_with_different_emails_stay_apart():
    assert (
        groups_of(
            vcard("a", "Jean Martin", "EMAIL:jean.martin@acme.example", "ORG:Acme"),
            vcard("b", "Jean Martin", "EMAIL:jmartin@globex.example", "ORG:Acme"),
        )
        == []
    )


def test_two_names_that_are_nicknames_of_a_third_stay_apart():
    """"Chris" is short for both, but Christian and Christina are two people."""
    assert (
        groups_of(
            vcard("a", "Christian Meier", "EMAIL:meier@example.org"),
            vcard("b", "Christina Meier", "EMAIL:meier@example.org"),
        )
        == []
    )


def test_a_nickname_with_only_the_same_company_stays_apart():
    """Name evidence needs the same words; a nickname counts beside an email or phone."""
    assert (
        groups_of(vcard("a", "Bob Smith", "ORG:Acme"), vcard("b", "Robert Smith", "ORG:Acme"))
        == []
    )


def test_two_jean_martins_with_nothing_else_stay_apart():
    assert groups_of(vcard("a", "Jean Martin"), vcard("b", "Martin Jean")) == []


def test_same_name_with_conflicting_birthdays_stays_apart():
    assert (
        groups_of(
            vcard("a", "Jean Martin", "ORG:Acme", "BDAY:1970-01-01"),
            vcard("b", "Jean Martin", "ORG:Acme", "BDAY:1990-06-15"),
        )
        == []
    )


def test_a_shared_household_address_does_not_merge_two_people():
    assert (
        groups_of(
            vcard("a", "Jane Smith", "EMAIL:family@smith.example"),
            vcard("b", "John Smith", "EMAIL:family@smith.example"),
        )
        == []
    )


def test_a_chain_of_links_cannot_join_two_who_contradict():
    """b links to a by email and to c by phone, but a and c have different birthdays."""
    found = groups_of(
        vcard("a", "Jean Martin", "EMAIL:jm@example.org", "BDAY:1970-01-01"),
        vcard("b", "Jean Martin", "EMAIL:jm@example.org", "TEL:+41 79 000 00 01"),
        vcard("c", "Jean Martin", "TEL:+41 79 000 00 01", "BDAY:1990-06-15"),
    )
    assert found == [["a", "b"]]


def test_group_id_is_stable_and_order_free():
    cards = [
        read_card("x.vcf", vcard("b", "Ann Lee", "EMAIL:ann@example.org"), REGION),
        read_card("y.vcf", vcard("a", "Ann Lee", "EMAIL:ann@example.org"), REGION),
    ]
    assert find_groups(cards)[0].id == find_groups(cards[::-1])[0].id == group_id(["a", "b"])


# --- the merged card --------------------------------------------------------------------


def test_merged_card_keeps_every_value_once():
    reference = vcard(
        "a",
        "Robert Smith",
        "EMAIL;TYPE=WORK:robert.smith@acme.example",
        "TEL;TYPE=CELL:+41 79 123 45 67",
        "ORG:Acme",
        "BDAY:1980-05-17",
        "CATEGORIES:work",
        "NOTE:met in Basel",
        "item1.URL:https://acme.example/bob",
        "item1.X-ABLabel:profile",
        n="Smith;Robert;;;",
    )
    other = vcard(
        "b",
        "Smith\\, Bob",
        "EMAIL:Robert.Smith@ACME.example",
        "EMAIL;TYPE=HOME:bob@home.example",
        "TEL:079 123 45 67",
        "ADR;TYPE=HOME:;;Rue du Lac 1;Genève;;1200;CH",
        "ORG:Acme",
        "BDAY:1980-05-18",
        "CATEGORIES:work,friends",
        "NOTE:plays chess",
        "PHOTO;ENCODING=b;TYPE=JPEG:aGVsbG8=",
        "item1.URL:https://bob.example",
        "item1.X-ABLabel:blog",
        n="Smith;Bob;;;",
    )
    merged = vobject.readOne(merge_group(reference, [other], REGION).card)

    def values(name: str) -> list:
        return [line.value for line in merged.contents.get(name, [])]

    assert merged.uid.value == "a"
    assert values("fn") == ["Robert Smith"]
    assert values("x-murmeli-also-fn") == ["Smith, Bob"]
    assert values("x-murmeli-also-n") == ["Smith;Bob;;;"]
    assert values("bday") == ["1980-05-17"]
    assert values("x-murmeli-also-bday") == ["1980-05-18"]
    assert sorted(values("email")) == ["bob@home.example", "robert.smith@acme.example"]
    assert values("tel") == ["+41 79 123 45 67"]
    assert len(values("adr")) == 1 and values("adr")[0].city == "Genève"
    assert values("org") == [["Acme"]]
    assert values("categories") == [["work", "friends"]]
    assert sorted(values("note")) == ["met in Basel", "plays chess"]
    assert values("photo") == [b"hello"]
    urls = {line.group: line.value for line in merged.contents["url"]}
    labels = {line.group: line.value for line in merged.contents["x-ablabel"]}
    assert urls == {"item1": "https://acme.example/bob", "item2": "https://bob.example"}
    assert labels == {"item1": "profile", "item2": "blog"}


def test_merging_a_card_with_itself_adds_nothing():
    text = vcard("a", "Ann Lee", "EMAIL:ann@example.org", "TEL:+41 79 111 22 33", "ORG:Lee AG")
    again = text.replace("UID:a", "UID:b")
    merged = merge_group(text, [again], REGION)
    assert merged.card == vobject.readOne(text).serialize()
    assert merged.identical == ["EMAIL", "FN", "ORG", "TEL"]


def test_a_name_in_another_order_and_empty_values_add_nothing():
    reference = vcard("a", "Jean Dupont", "ORG:Acme", n="Dupont;Jean;;;")
    other = vcard("b", "Dupont Jean", "ORG:ACME", n=";;;;")
    assert merge_group(reference, [other], REGION).card == vobject.readOne(reference).serialize()


def test_reference_is_the_most_complete_then_the_latest():
    sparse = read_card("1.vcf", vcard("a", "Ann Lee", "EMAIL:ann@example.org"), REGION)
    full = read_card(
        "2.vcf", vcard("b", "Ann Lee", "EMAIL:ann@example.org", "TEL:+41 79 111 22 33"), REGION
    )
    old = read_card("3.vcf", vcard("c", "Ann Lee", "EMAIL:a@x.org", "REV:20200101T000000Z"), REGION)
    new = read_card("4.vcf", vcard("d", "Ann Lee", "EMAIL:a@x.org", "REV:20240101T000000Z"), REGION)
    assert choose_reference([sparse, full]).uid == "b"
    assert choose_reference([new, old]).uid == "d"
