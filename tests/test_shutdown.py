"""SIGTERM while clients are writing: every acknowledged write survives, nothing is half-written."""

from __future__ import annotations

import threading
import time
import uuid

import icalendar
import requests

from tests.murmeli_process import MurmeliServer

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20270101T000000Z\r\nDTSTART:20270101T100000Z\r\nSUMMARY:{summary}\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def keep_writing(url: str, auth: tuple[str, str], stop: threading.Event, acknowledged: list[str]):
    with requests.Session() as session:
        while not stop.is_set():
            uid = str(uuid.uuid4())
            body = EVENT.format(uid=uid, summary="x" * 2000)
            try:
                answer = session.put(f"{url}{uid}.ics", data=body, auth=auth, timeout=10)
            except requests.ConnectionError:
                return
            if answer.status_code == 201:
                acknowledged.append(uid)


def test_sigterm_keeps_every_acknowledged_write_whole(tmp_path):
    server = MurmeliServer(tmp_path / "data").start()
    auth = server.add_user("writer")
    calendar = f"{server.url}/{auth[0]}/calendar/"
    assert requests.request("PROPFIND", calendar, auth=auth, headers={"Depth": "0"}).ok

    stop, acknowledged = threading.Event(), []
    writers = [
        threading.Thread(target=keep_writing, args=(calendar, auth, stop, acknowledged))
        for _ in range(4)
    ]
    for writer in writers:
        writer.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.stop() == 0
    stop.set()
    for writer in writers:
        writer.join(timeout=30)
    assert len(acknowledged) >= 20

    folder = tmp_path / "data" / "collections" / "collection-root" / auth[0] / "calendar"
    stored = {path.stem: path for path in folder.glob("*.ics")}
    assert set(acknowledged) <= set(stored)
    for path in stored.values():
        event = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")[0]
        assert str(event["SUMMARY"]) == "x" * 2000

    restarted = MurmeliServer(tmp_path / "data").start()
    try:
        listing = requests.request(
            "PROPFIND",
            calendar.replace(server.url, restarted.url),
            auth=auth,
            headers={"Depth": "1"},
        )
        assert listing.text.count("<response>") == len(stored) + 1
    finally:
        restarted.stop()
