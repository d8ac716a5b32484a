"""Runs the relay's listeners on an asyncio loop of their own, beside ``murmeli serve`` or alone.

Starting opens the key store first, so a wrong key-encryption key stops
start-up with its error instead of refusing every message later. The
submission listener needs a certificate (STARTTLS is required before AUTH).
With ``reuse_port`` (the worker processes of ``crypto/relay_workers.py``) the
listeners share their ports with the other workers' (SO_REUSEPORT).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

from config.loader import ConfigError
from crypto.next_hop import NextHop
from crypto.relay import Relay
from crypto.relay_smtp import RelayHandler, RelaySMTP, account_login
from crypto.settings import RelaySettings
from davserver.services import Services

logger = logging.getLogger("murmeli.relay")
WORKERS = 4  # threads encrypting and talking to the next hop; PGPy holds the GIL anyway
HOSTNAME = "murmeli-relay"


class RelayServer:
    def __init__(self, services: Services, reuse_port: bool = False) -> None:
        settings = services.settings.relay
        check_startable(services)
        if not logger.isEnabledFor(logging.DEBUG):
            # aiosmtpd logs every command at info: a line per command is noise, and costs.
            logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._reuse_port = reuse_port
        self._settings = settings
        self._services = services
        self._next_hop = NextHop(settings.next_hop)
        self._relay = Relay(services, self._next_hop)
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="murmeli-relay")
        self._loop = asyncio.new_event_loop()
        self._servers: list[asyncio.Server] = []
        self._handlers: list[RelayHandler] = []
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="murmeli-relay-smtp", daemon=True
        )

    def start(self) -> RelayServer:
        submission = self._settings.submission
        content_filter = self._settings.content_filter
        if submission.listen is not None:
            self._listen("submission", submission.listen.host, submission.listen.port, True)
        if content_filter.listen is not None:
            self._listen(
                "content filter", content_filter.listen.host, content_filter.listen.port, False
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, then let messages in hand finish and be answered before the next
        hop is left."""
        for server in self._servers:
            self._loop.call_soon_threadsafe(server.close)
        asyncio.run_coroutine_threadsafe(self._finish(), self._loop).result()
        self._executor.shutdown(wait=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=15)
        self._next_hop.close()
        logger.info("relay stopped")

    async def _finish(self) -> None:
        for handler in self._handlers:
            await handler.finish()

    def _listen(self, name: str, host: str, port: int, submission: bool) -> None:
        handler = RelayHandler(self._relay, self._executor, self._services.directory, submission)
        self._handlers.append(handler)
        limit = self._settings.max_message_size
        if submission:
            options = {
                "tls_context": _tls_context(self._settings),
                "require_starttls": True,
                "auth_required": True,
                "auth_require_tls": True,
                "authenticator": account_login(self._services.authenticator),
                "executor": self._executor,
            }
        else:
            options = {"trusted": self._settings.content_filter.trusted}

        def protocol() -> RelaySMTP:
            return RelaySMTP(
                handler,
                data_size_limit=limit,
                hostname=HOSTNAME,
                ident="Murmeli OpenPGP relay",
                loop=self._loop,
                **options,
            )

        try:
            server = self._loop.run_until_complete(
                self._loop.create_server(
                    protocol, host, port, reuse_address=True, reuse_port=self._reuse_port
                )
            )
        except OSError as error:
            raise ConfigError(f"relay {name}: cannot listen on {host}:{port}: {error}") from None
        self._servers.append(server)
        bound = server.sockets[0].getsockname()
        logger.info("relay %s listening on %s:%d", name, bound[0], bound[1])


def check_startable(services: Services) -> None:
    """Raise ``ConfigError`` for what would stop the relay: settings, certificate, the KEK."""
    settings = services.settings.relay
    _check(settings)
    if settings.submission.listen is not None:
        _tls_context(settings)
    services.key_store  # noqa: B018 - opening it verifies the KEK


def _check(settings: RelaySettings) -> None:
    if settings.next_hop.host is None:
        raise ConfigError("relay.next_hop.host is required to run the relay")
    submission = settings.submission
    if submission.listen is not None and submission.certificate is None:
        raise ConfigError(
            "relay.submission: certificate and key are required (STARTTLS comes before AUTH);"
            " set relay.submission.listen to null to run without the submission listener"
        )


def _tls_context(settings: RelaySettings) -> ssl.SSLContext:
    submission = settings.submission
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(submission.certificate), str(submission.key))
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"relay.submission certificate or key: {error}") from None
    return context
