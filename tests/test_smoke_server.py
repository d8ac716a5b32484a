"""The server starts, answers discovery and stops cleanly on SIGTERM."""

import requests

from tests.murmeli_process import MurmeliServer


def test_well_known_redirects_and_stop_is_clean(tmp_path):
    server = MurmeliServer(tmp_path / "data").start()
    try:
        for kind in ("caldav", "carddav"):
            answer = requests.get(f"{server.url}/.well-known/{kind}", allow_redirects=False)
            assert answer.status_code == 301
            assert answer.headers["Location"] == "/"
    finally:
        assert server.stop() == 0
    assert any("stopped" in line for line in server.log)
