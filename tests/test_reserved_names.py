"""Names Murmeli serves at the top level itself: refused for new users, reported for old ones."""

from __future__ import annotations

import sqlite3

import pytest
from radicale import Application as RadicaleApplication
from radicale import config

from davserver.accounts.directory import AccountError, check_user_name
from davserver.application import Application
from davserver.property_limits import PropertyLimits
from davserver.url_space import RESERVED_NAMES
from tests.murmeli_process import MurmeliServer


@pytest.mark.parametrize("name", ["api", "App", "app", "healthz", "autodiscover", "mail"])
def test_reserved_names_are_refused(name):
    with pytest.raises(AccountError, match=f"is reserved: Murmeli serves /{name.lower()}/ itself"):
        check_user_name(name)


def test_names_that_only_start_like_reserved_ones_are_accepted():
    assert check_user_name("apiary") == "apiary"


def test_user_add_refuses_a_reserved_name_with_the_reason(fresh_data):
    result = fresh_data.cli("user", "add", "api", "--no-password")
    assert result.returncode == 2
    assert "user name 'api' is reserved: Murmeli serves /api/ itself" in result.stderr
    assert "Traceback" not in result.stderr
    assert "api" not in fresh_data.cli("user", "list").stdout


def test_a_mount_outside_the_reserved_names_is_refused():
    dav = RadicaleApplication(config.load())
    limits = PropertyLimits(lambda path: None, 100, 1024)
    assert Application(dav, {f"/{name}/": dav for name in RESERVED_NAMES}, 1024, False, limits)
    with pytest.raises(ValueError, match="mount /calendar/ is not reserved"):
        Application(dav, {"/calendar/": dav}, 1024, False, limits)


def test_existing_users_with_reserved_names_are_reported_at_start_and_upgrade(tmp_path):
    murmeli = MurmeliServer(tmp_path / "data")
    assert murmeli.cli("user", "add", "ordinary", "--no-password").returncode == 0
    with sqlite3.connect(murmeli.data / "murmeli.sqlite3") as database:
        database.execute(
            "INSERT INTO users (name, role, created_at) VALUES ('api', 'collaborator', 0)"
        )
    upgraded = murmeli.cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "warning: user 'api' has a name Murmeli serves itself (/api/)" in upgraded.stderr
    assert "murmeli user remove api" in upgraded.stderr
    assert "ordinary" not in upgraded.stderr

    murmeli.start()
    murmeli.stop()
    warnings = [line for line in murmeli.log if "has a name Murmeli serves itself" in line]
    assert len(warnings) == 1 and "'api'" in warnings[0]
