"""Who gets which copy of a message: the relay's encryption policy, decided before anything moves.

* A local recipient's copy is always encrypted to their key (encryption at
  rest), and to the sender's key too when the sender is local, so both can
  read it later.
* An outside recipient gets the message as it is, unless the sender asked for
  encryption (``X-Murmeli-Encrypt: yes``): then it is encrypted to their
  public key if one is known, else deposited behind the password the sender
  gave for them; with neither, the whole message is refused (fail closed:
  nobody receives any copy, and the reply names every such recipient).
* The visible recipients (To, Cc) encrypted to keys share one copy; each Bcc
  recipient gets a copy of their own, so their key ID shows to no one else.
  Plain copies need no such care (Bcc is removed from every copy): one serves
  all.
* A message already encrypted goes to everyone untouched.

``plan`` only decides; looking keys up is the caller's ``Keys``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from crypto.openpgp import PGPKey, UndeliverableKey, check_deliverable
from crypto.relay_message import RelayedMessage
from crypto.smtp_reply import SmtpReply


class Keys(Protocol):
    def local_key(self, address: str) -> PGPKey | None:
        """The key of a local address; None for an outside one."""

    def outside_key(self, sender: str, address: str) -> PGPKey | None:
        """The public key the sender's account knows (or WKD found) for an outside address."""


@dataclass(frozen=True)
class Copy:
    recipients: tuple[str, ...]
    keys: tuple[PGPKey, ...]  # empty: the copy goes as it is

    @property
    def encrypted(self) -> bool:
        return bool(self.keys)


@dataclass(frozen=True)
class Deposit:
    """A secure message page for an outside recipient, opened with the sender's password."""

    recipient: str
    password: str


@dataclass(frozen=True)
class Plan:
    copies: tuple[Copy, ...]
    deposits: tuple[Deposit, ...] = ()


def plan(sender: str, recipients: Sequence[str], message: RelayedMessage, keys: Keys) -> Plan:
    if message.encrypted:
        return Plan((Copy(tuple(recipients), ()),))
    sender_key = keys.local_key(sender) if sender else None
    visible: list[tuple[str, PGPKey]] = []
    hidden: list[tuple[str, PGPKey]] = []
    plain: list[str] = []
    deposits: list[Deposit] = []
    refused: list[str] = []
    for recipient in recipients:
        key = keys.local_key(recipient)
        if key is None and message.encryption_requested:
            key, problem = _outside_key(keys, sender, recipient)
            password = message.passwords.get(recipient.lower())
            if key is None and password is not None:
                deposits.append(Deposit(recipient, password))
                continue
            if key is None:
                refused.append(f"{recipient} ({problem})" if problem else recipient)
                continue
        if key is None:
            plain.append(recipient)
        elif recipient.lower() in message.visible:
            visible.append((recipient, key))
        else:
            hidden.append((recipient, key))
    if refused:
        raise SmtpReply(
            550,
            "5.7.1",
            f"encryption requested but no key nor password for {', '.join(refused)}:"
            " nothing was sent",
        )
    copies = [_encrypted_copy(visible, sender_key)] if visible else []
    copies += [_encrypted_copy([entry], sender_key) for entry in hidden]
    copies += [Copy(tuple(plain), ())] if plain else []
    return Plan(tuple(copies), tuple(deposits))


def _outside_key(keys: Keys, sender: str, recipient: str) -> tuple[PGPKey | None, str]:
    """The recipient's usable key, or None and why the known one (if any) cannot be used."""
    key = keys.outside_key(sender, recipient)
    if key is None:
        return None, ""
    try:
        check_deliverable(key)
    except UndeliverableKey as error:
        return None, str(error)
    return key, ""


def _encrypted_copy(entries: Sequence[tuple[str, PGPKey]], sender_key: PGPKey | None) -> Copy:
    keys = {key.fingerprint: key for _, key in entries}
    if sender_key is not None:
        keys.setdefault(sender_key.fingerprint, sender_key)
    return Copy(tuple(recipient for recipient, _ in entries), tuple(keys.values()))
