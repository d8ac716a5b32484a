"""Serves the application under cheroot (threaded, HTTP/1.1, TLS) until SIGTERM or SIGINT.

On a signal the listener closes and requests in flight are allowed to finish;
Radicale writes items atomically, so stopping never leaves half-written data.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from config.schema import Listen
from crypto.relay_server import RelayServer
from crypto.secure_sweeper import Sweeper
from davserver.accounts.directory import reserved_name_notice
from davserver.services import Services
from davserver.wsgi import build_application
from importer.daemon import build_daemon
from plugins.reminders import scheduler as reminders
from plugins.scheduling.service import start_worker as start_scheduling_mail

logger = logging.getLogger("murmeli.server")


def serve(services: Services) -> None:
    settings = services.settings.server
    application = build_application(services)
    services.warm_up()
    relay = RelayServer(services).start() if services.settings.relay.enabled else None
    server = wsgi.Server(
        (settings.listen.host, settings.listen.port),
        application,
        numthreads=settings.threads,
        server_name="murmeli",
        shutdown_timeout=10,
    )
    # No limit of cheroot's own: the application refuses each route's oversized bodies
    # itself, with a reason (JSON under /api/), before reading them.
    server.max_request_body_size = 0
    scheme = "http"
    if settings.tls.certificate and settings.tls.key:
        server.ssl_adapter = BuiltinSSLAdapter(str(settings.tls.certificate), str(settings.tls.key))
        scheme = "https"
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server.prepare()
    # Everything built so far lives as long as the process: moving it out of the
    # collector's sight keeps full collections as cheap as in a bare Radicale.
    gc.collect()
    gc.freeze()
    host, port = server.socket.getsockname()[:2]
    logger.info("Murmeli listening on %s://%s:%d (data in %s)", scheme, host, port, settings.data)
    if not services.directory.list():
        logger.warning("no users yet: add one with `murmeli user add NAME` (see README.md)")
    for name in services.directory.reserved_names_taken():
        logger.warning(reserved_name_notice(name))
    worker = threading.Thread(target=server.serve, name="murmeli-http", daemon=True)
    worker.start()
    importer = build_daemon(services) if services.settings.importer.enabled else None
    # Links in the mail Murmeli sends: the configured public URL, else where it listens.
    public_url = settings.base_url or f"{scheme}://{Listen(host, port)}"
    background = [
        relay,
        importer,
        reminders.start(services, public_url),
        start_scheduling_mail(services, public_url),
        Sweeper(services.secure_delivery, services.settings.relay.secure_message_sweep).start(),
    ]
    if importer is not None:
        importer.start()
    stop.wait()
    for running in background:  # disabled ones are None
        if running is not None:
            running.stop()
    logger.info("stopping: finishing requests in flight")
    server.stop()
    worker.join(timeout=15)
    logger.info("stopped")
