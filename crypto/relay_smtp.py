"""The relay's two SMTP listeners on aiosmtpd: submission (users) and content filter (mail server).

Submission: STARTTLS before anything else, then AUTH PLAIN or LOGIN with a
Murmeli account password or app password; the envelope sender (553) and every
From address (550) must be addresses of the logged-in user. Content filter:
no AUTH, and a peer outside ``trusted`` is refused at connect (554), so the
relay is never an open relay.

Both announce SIZE and refuse larger messages with 552 5.3.4: at MAIL when
the client declares SIZE, else at the end of DATA (aiosmtpd stops keeping
the data once over the limit). Logins and messages are handled on the relay's
worker threads, so the event loop keeps serving other clients meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from crypto.relay import Relay
from crypto.settings import Networks
from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import Directory

logger = logging.getLogger("murmeli.relay")


@dataclass(frozen=True)
class _Unchecked:
    """Credentials aiosmtpd has read, left for ``RelaySMTP`` to check off the event loop."""

    mechanism: str
    credentials: Any


class RelaySMTP(SMTP):
    """aiosmtpd's SMTP with RFC 3463 codes on its size replies, an optional peer check, and
    logins checked on ``executor`` (a first login costs an Argon2 run, ~0.1 s: on the event
    loop it would hold up every other client of the listener)."""

    def __init__(
        self,
        handler: Any,
        *,
        trusted: Networks | None = None,
        executor: Executor | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._trusted = trusted
        self._executor = executor
        too_large = (
            f"552 5.3.4 message larger than the maximum of {kwargs.get('data_size_limit')} bytes"
        )
        self._replies = {
            "552 Error: message size exceeds fixed maximum message size": too_large,
            "552 Error: Too much mail data": too_large,
            "530 Must issue a STARTTLS command first": "530 5.7.0 STARTTLS first",
        }

    async def push(self, status: Any) -> None:
        await super().push(self._replies.get(status, status))

    def _authenticate(self, mechanism: str, auth_data: Any) -> Any:
        # aiosmtpd's auth_PLAIN/auth_LOGIN call this without awaiting: only keep what they read.
        return _Unchecked(mechanism, auth_data)

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._checked(await super().auth_LOGIN(_, args))

    async def _checked(self, result: AuthResult | _Unchecked) -> AuthResult:
        if not isinstance(result, _Unchecked):
            return result  # refused while reading the credentials, already answered
        return await self.loop.run_in_executor(
            self._executor, super()._authenticate, result.mechanism, result.credentials
        )

    async def _handle_client(self) -> None:
        peer = self.session.peer[0] if self.session and self.session.peer else ""
        if self._trusted is not None and peer not in self._trusted:
            logger.warning("content filter: refused %s, not in relay.content_filter.trusted", peer)
            await self.push("554 5.7.1 not a trusted client of this relay")
            self.transport.close()
            return
        await super()._handle_client()


class RelayHandler:
    """aiosmtpd handler: the sender check of submission, then the message to ``Relay``."""

    def __init__(
        self, relay: Relay, executor: Executor, directory: Directory, submission: bool
    ) -> None:
        self._relay = relay
        self._executor = executor
        self._directory = directory
        self._submission = submission
        self._stopping = False
        self._in_hand = 0
        self._none_in_hand = asyncio.Event()
        self._none_in_hand.set()

    async def finish(self) -> None:
        """Refuse new messages (421: the client tries again later), and return once each
        message in hand has its reply: a sender that saw no reply would send it again.

        The reply is written in the same step as ``handle_DATA`` returns, before this wakes."""
        self._stopping = True
        await self._none_in_hand.wait()

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if self._submission:
            owner = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._owner, address
            )
            if owner != session.auth_data:
                return f"553 5.7.1 sender <{address}> is not an address of {session.auth_data}"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._stopping:
            return "421 4.3.2 the relay is stopping, try again later"
        author = session.auth_data if self._submission else None
        self._in_hand += 1
        self._none_in_hand.clear()
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor,
                self._relay.relay,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                envelope.content or b"",
                author,
            )
        finally:
            self._in_hand -= 1
            if not self._in_hand:
                self._none_in_hand.set()

    async def handle_exception(self, error: Exception) -> str:
        logger.error("SMTP session failed: %s: %s", type(error).__name__, error)
        return "451 4.3.0 internal error of the relay, try again later"

    def _owner(self, address: str) -> str | None:
        user = self._directory.find_by_address(address) if address else None
        return user.name if user is not None else None


def account_login(authenticator: Authenticator) -> Any:
    """aiosmtpd authenticator: Murmeli accounts and app passwords; the session keeps the
    user name. ``RelaySMTP`` calls it on a worker thread. Failures count towards the
    lock-out, so guessing through submission is stopped as through HTTP."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd then answers 535 itself.
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        peer = session.peer[0] if session.peer else ""
        login = authenticator.login(
            data.login.decode("utf-8", "replace"), data.password.decode("utf-8", "replace"), peer
        )
        name = login.user
        if not name:
            logger.warning(
                "submission: failed login for %r from %s%s",
                data.login[:64],
                peer,
                " (locked out)" if login.locked else "",
            )
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=name)

    return authenticate
