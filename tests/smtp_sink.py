"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS and a login, keeping
every message it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.ports import free_port
from tests.test_tls import self_signed


class Sink:
    """aiosmtpd handler; each message gets ``X-Envelope-To`` with its envelope recipients.

    ``refusals`` maps a recipient to the reply its RCPT TO gets instead of 250 (say
    ``"550 5.1.1 no such user"``); ``recipients_tried`` lists every RCPT TO address;
    ``data_refusal``, when set, is the reply every DATA gets (nothing is kept).
    After ``hold()``, each message is kept waiting for the reply to its DATA (counted in
    ``held``) until ``release()``: mail the sender has in flight, for as long as a test needs."""

    def __init__(self, login: tuple[str, str]) -> None:
        self.login = login
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message's bytes as received, in the order of messages
        self.refusals: dict[str, str] = {}
        self.recipients_tried: list[str] = []
        self.data_refusal: str | None = None
        self.held = 0
        self._released = threading.Event()
        self._released.set()

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        self.recipients_tried.append(address)
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.data_refusal:
            return self.data_refusal
        if not self._released.is_set():
            self.held += 1
            await asyncio.get_running_loop().run_in_executor(None, self._released.wait)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        self.raw.append(envelope.original_content)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        given = (
            (auth_data.login.decode(), auth_data.password.decode())
            if isinstance(auth_data, LoginPassword)
            else None
        )
        # handled=False on failure: aiosmtpd then answers 535; handled=True would leave the
        # client waiting for a reply nobody sends.
        if given != self.login:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True)


@contextmanager
def smtp_sink(
    folder: Path, login: tuple[str, str], starttls: bool = True, port: int | None = None
) -> Iterator[tuple[Sink, str, int]]:
    """The sink, the PEM certificate it presents (for ``smtp.ca_file``) and its port.

    The certificate is made in ``folder`` unless it is there already, so a sink
    started again on the same folder and ``port`` is the same server to its clients."""
    certificate, key = str(folder / "cert.pem"), str(folder / "key.pem")
    if not Path(certificate).exists():
        certificate, key = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    handler = Sink(login)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port or free_port(),
        server_hostname="localhost",
        tls_context=context if starttls else None,
        require_starttls=starttls,
        auth_required=starttls,
        auth_require_tls=True,
        authenticator=handler.authenticate,
    )
    controller.start()
    try:
        yield handler, certificate, controller.port
    finally:
        controller.stop()
