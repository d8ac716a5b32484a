"""The relay's SMTP handler when the relay stops: messages in hand are answered, new ones are
told to come back (421). The relay is a fake that holds each message until the test lets it go;
the stop itself is tested end to end in tests/test_relay_workers.py."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.smtp import Envelope

from crypto.relay_smtp import RelayHandler


class HeldRelay:
    def __init__(self) -> None:
        self.go = threading.Event()
        self.started = threading.Event()

    def relay(self, sender: str, recipients: list[str], data: bytes, author: str | None) -> str:
        self.started.set()
        self.go.wait(timeout=60)
        return "250 2.0.0 relayed"


def envelope() -> Envelope:
    message = Envelope()
    message.mail_from = "x@elsewhere.test"
    message.rcpt_tos = ["bob@murmeli.test"]
    message.content = b"Subject: held\r\n\r\nbody\r\n"
    return message


def test_finish_answers_the_message_in_hand_and_turns_new_ones_away():
    relay = HeldRelay()
    with ThreadPoolExecutor(2) as executor:
        handler = RelayHandler(relay, executor, directory=None, submission=False)

        async def scenario() -> tuple[str, str, bool]:
            in_hand = asyncio.create_task(handler.handle_DATA(None, None, envelope()))
            await asyncio.to_thread(relay.started.wait, 60)
            finishing = asyncio.create_task(handler.finish())
            await asyncio.sleep(0)  # finish() is now waiting for the message in hand
            late = await handler.handle_DATA(None, None, envelope())
            waited = not finishing.done()
            relay.go.set()
            await finishing
            return in_hand.result(), late, waited

        answered, late, waited = asyncio.run(scenario())
    assert waited
    assert answered == "250 2.0.0 relayed"
    assert late.startswith("421 4.3.2")
