"""One message through the relay: read it, decide its copies, encrypt them, hand them on.

Everything is decided before anything is sent: a message refused by the
policy reaches nobody. Secure-page deposits come first (the sender's password
may be refused, and then nothing must have gone out), then the copies go to
the next hop (a client retrying after the next hop failed gets the first
deposit back, no second one); the client is told 250 only when the next hop accepted every
copy. Any failure becomes an SMTP reply that says why; a traceback never
reaches the client, it goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from crypto.keys import KeyStoreError
from crypto.next_hop import NextHop
from crypto.openpgp import PGPKey, UndeliverableKey
from crypto.pgpmime import encrypt_canonical
from crypto.relay_message import RelayedMessage, read
from crypto.relay_policy import Deposit, Plan, plan
from crypto.secure_delivery import DeliveryError, NotificationFailed
from crypto.smtp_reply import SmtpReply
from crypto.wrapping import KeyEncryptionKeyError, UnwrapError
from davserver.services import Services

logger = logging.getLogger("murmeli.relay")
_LOCAL_CACHE_LIMIT = 10_000


class ServiceKeys:
    """The policy's ``Keys``: local means a Murmeli user's address or one in ``local_domains``."""

    def __init__(self, services: Services) -> None:
        self._directory = services.directory
        self._key_store = services.key_store
        self._recipient_keys = services.recipient_keys
        self._local_domains = services.settings.relay.local_domains
        # The key store caches private keys; deriving the public half costs ~0.25 ms each time.
        self._public: dict[str, tuple[PGPKey, PGPKey]] = {}
        # Addresses known to be local (two queries each otherwise). Only those: an address
        # that becomes local (a new user) must be encrypted to from its first message on.
        self._local: dict[str, str] = {}

    def local_key(self, address: str) -> PGPKey | None:
        filed_under = self._local.get(address) or self._filed_under(address)
        if filed_under is None:
            return None
        private = self._key_store.private_key(filed_under)
        cached = self._public.get(filed_under)
        if cached is None or cached[0] is not private:
            cached = self._public[filed_under] = (private, private.pubkey)
        return cached[1]

    def _filed_under(self, address: str) -> str | None:
        user = self._directory.find_by_address(address)
        if user is None and address.rpartition("@")[2] not in self._local_domains:
            return None
        if len(self._local) >= _LOCAL_CACHE_LIMIT:
            self._local.clear()
        filed_under = self._local[address] = user.email if user and user.email else address
        return filed_under

    def outside_key(self, sender: str, address: str) -> PGPKey | None:
        return self._recipient_keys.find(sender, address)


class Relay:
    def __init__(self, services: Services, next_hop: NextHop) -> None:
        self._services = services
        self._keys = ServiceKeys(services)
        self._next_hop = next_hop

    def relay(
        self, sender: str, recipients: Sequence[str], raw: bytes, author: str | None = None
    ) -> str:
        """The SMTP reply to give the client for this message; ``author``: the logged-in user,
        who must be the message's From."""
        try:
            return self._relay(sender, recipients, raw, author)
        except SmtpReply as reply:
            logger.warning("refused mail from %s to %s: %s", sender, ", ".join(recipients), reply)
            return reply.reply
        except (KeyEncryptionKeyError, UnwrapError) as error:
            logger.error("keys unavailable: %s", error)
            return "451 4.7.0 encryption keys unavailable, try again later"
        except Exception:
            logger.exception("relaying mail from %s failed", sender)
            return "451 4.3.0 internal error of the relay, try again later"

    def _relay(self, sender: str, recipients: Sequence[str], raw: bytes, author: str | None) -> str:
        message = read(raw)
        if author is not None:
            self._check_authors(author, message)
        try:
            decided = plan(sender, recipients, message, self._keys)
            copies = [
                (copy.recipients, encrypt_canonical(message.raw, copy.keys))
                if copy.encrypted
                else (copy.recipients, message.raw)
                for copy in decided.copies
            ]
        except (KeyStoreError, UndeliverableKey) as error:
            raise SmtpReply(550, "5.7.1", f"cannot encrypt: {error}: nothing was sent") from None
        for deposit in decided.deposits:
            self._deposit(sender, message, deposit)
        if copies:
            self._next_hop.send(sender, copies)
        summary = _summary(decided)
        logger.info("relayed mail from %s: %s", sender, summary)
        return f"250 2.0.0 relayed: {summary}"

    def _check_authors(self, author: str, message: RelayedMessage) -> None:
        directory = self._services.directory
        for address in message.authors or ("",):
            user = directory.find_by_address(address) if address else None
            if user is None or user.name != author:
                raise SmtpReply(
                    550, "5.7.1", f"From {address or '(none)'} is not an address of {author}"
                )

    def _deposit(self, sender: str, message: RelayedMessage, deposit: Deposit) -> None:
        secure = self._services.secure_delivery
        try:
            secure.deposit(sender, deposit.recipient, message.raw, deposit.password, once=True)
        except NotificationFailed as error:  # the client's retry may find the SMTP server back
            reason = f"secure message for {deposit.recipient}: {error}"
            raise SmtpReply(451, "4.4.1", reason) from None
        except DeliveryError as error:
            raise SmtpReply(
                550, "5.7.1", f"secure message for {deposit.recipient}: {error}"
            ) from None


def _summary(decided: Plan) -> str:
    encrypted = sum(1 for copy in decided.copies if copy.encrypted)
    plain = len(decided.copies) - encrypted
    return (
        f"{encrypted} encrypted and {plain} plain copies, {len(decided.deposits)} secure messages"
    )
