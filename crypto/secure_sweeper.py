"""The background worker of ``murmeli serve`` that deletes expired password-protected messages.

A visit to an expired link deletes its message too; the sweeper makes sure
messages nobody visits are gone on time as well, every
``relay.secure_message_sweep``.
"""

from __future__ import annotations

import logging
import threading

from crypto.secure_delivery import SecureDelivery

logger = logging.getLogger("murmeli.secure")


class Sweeper:
    def __init__(self, delivery: SecureDelivery, interval: float) -> None:
        self._delivery = delivery
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="murmeli-secure-sweep", daemon=True)

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                deleted = self._delivery.sweep()
                if deleted:
                    logger.info("deleted %d expired secure messages", deleted)
            except Exception:
                logger.exception("secure messages: sweep failed; retrying in %ss", self._interval)
            self._stopping.wait(self._interval)
