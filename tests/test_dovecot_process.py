"""The throw-away Dovecot the import tests run against: it starts, logs users in, stops."""

from __future__ import annotations

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.dovecot_process import GMAIL_SPECIAL_USE, DovecotServer


def test_users_log_in_and_see_the_special_use_folders() -> None:
    server = DovecotServer().start()
    try:
        login = server.add_user("alice@example.org", "alice-pw")
        client = IMAPClient(server.host, port=server.port, ssl=False)
        client.login(login, "alice-pw")
        special = {
            flag: name
            for flags, _, name in client.list_folders()
            for flag in flags
            if flag in (rb"\Sent", rb"\Trash", rb"\Junk", rb"\Drafts")
        }
        assert special == {rb"\Sent": "Sent", rb"\Trash": "Trash", rb"\Junk": "Junk",
                           rb"\Drafts": "Drafts"}  # fmt: skip
        assert b"MULTIAPPEND" in client.capabilities()
        client.logout()
        with pytest.raises(LoginError):
            IMAPClient(server.host, port=server.port, ssl=False).login(login, "wrong")
    finally:
        server.stop()
    assert not server.root.exists()


def test_a_gmail_like_layout() -> None:
    server = DovecotServer(GMAIL_SPECIAL_USE).start()
    try:
        client = IMAPClient(server.host, port=server.port, ssl=False)
        client.login(server.add_user("bob@example.org", "bob-pw"), "bob-pw")
        assert client.find_special_folder(rb"\All") == "[Gmail]/All Mail"
        assert client.find_special_folder(rb"\Sent") == "[Gmail]/Sent Mail"
        client.logout()
    finally:
        server.stop()
