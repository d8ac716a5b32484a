"""Comparable forms of the details people write differently: emails, phone numbers, names, dates.

Two cards match on a detail when its normalised forms are equal, so every rule
here decides what counts as "the same":

* Emails: trimmed and lower-cased, nothing more, because on most domains
  ``j.doe`` and ``jdoe``, or ``jdoe+news``, may be different mailboxes. Only
  for Gmail (``gmail.com``, ``googlemail.com``), which documents that dots and
  ``+tags`` do not matter, are dots and tags dropped and the domain unified.
* Phone numbers: E.164 (``+41791234567``) by Google's ``phonenumbers``; a
  number written without a country code is read in the configured default
  region. A number it cannot read keeps its digits only, so identical junk
  still matches itself.
* Names: accents stripped (NFKD), case-folded, split into tokens at anything
  that is not a letter or digit, and compared as a set, so "Dupont Jean",
  "jean dupont" and "Jean-Dupont" are one name. Names *agree* (may be one
  person's) when one is contained in the other, word by word, where a word
  also agrees with its initial ("J.") and with its nicknames ("Annie" for
  "Ann", ``given_names``).
* Birthdays: ``(year or None, month, day)`` from ``1980-05-17``, ``19800517``
  or the year-less ``--0517``.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

from plugins.duplicates import given_names

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

_NON_WORD = re.compile(r"[^\w]+|_+")
_NON_DIGIT = re.compile(r"\D+")
_BIRTHDAY = re.compile(r"^(?:(\d{4})|--)-?(\d{2})-?(\d{2})")
_E164 = phonenumbers.PhoneNumberFormat.E164

Birthday = tuple[int | None, int, int]


def email(value: str) -> str:
    """The comparable form of an address; "" when it is not one (no ``@``)."""
    address = value.strip().lower().removeprefix("mailto:")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return ""
    if domain in GMAIL_DOMAINS:
        return local.partition("+")[0].replace(".", "") + "@gmail.com"
    return address


@functools.lru_cache(maxsize=65536)
def phone(value: str, region: str) -> str:
    """E.164 when the number can be read (``tel:`` URIs too), else its digits; "" if none.

    Remembered: reading a number is the matcher's costliest step, and a merge
    reads each number of a group again."""
    text = value.strip().removeprefix("tel:")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, _E164)
    return _NON_DIGIT.sub("", text)


def fold(value: str) -> str:
    """Accents stripped and case folded: "Hélène" and "HELENE" fold alike."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_tokens(value: str) -> frozenset[str]:
    """The set of a name's words, folded."""
    return frozenset(token for token in _NON_WORD.split(fold(value)) if token)


def text(value: str) -> str:
    """Folded, with runs of spaces and punctuation made one space: for organisations, notes."""
    return " ".join(token for token in _NON_WORD.split(fold(value)) if token)


def birthday(value: str) -> Birthday | None:
    match = _BIRTHDAY.match(value.strip())
    if match is None:
        return None
    year, month, day = match.groups()
    return (int(year) if year else None, int(month), int(day))


def birthdays_agree(first: Birthday, second: Birthday) -> bool:
    """Same day and month; the years must agree only when both are known."""
    if first[1:] != second[1:]:
        return False
    return first[0] is None or second[0] is None or first[0] == second[0]


def names_agree(first: frozenset[str], second: frozenset[str]) -> bool:
    """One name is contained in the other; an initial matches any word it begins, a
    nickname its full form.

    "Jean Dupont" agrees with "Jean-Pierre Dupont" and "J. Dupont", "Annie Lee"
    with "Ann Lee"; "Jean Dupont" and "Marie Dupont" do not agree (and neither
    does a missing name disagree with anything).
    """
    if not first or not second:
        return True
    shorter, longer = sorted((first, second), key=len)
    return all(any(_token_agrees(token, other) for other in longer) for token in shorter)


def _token_agrees(token: str, other: str) -> bool:
    if token == other or given_names.related(token, other):
        return True
    return (len(token) == 1 and other.startswith(token)) or (
        len(other) == 1 and token.startswith(other)
    )
