"""A command loads only the subsystems it uses: account commands run without the OpenPGP
stack (which, on an unsupported Python, would fail to import and take every command down)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.murmeli_process import MurmeliServer

# Runs a command in a fresh interpreter, then prints the modules it loaded.
_PROBE = """
import json, sys
from davserver.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""
OPENPGP_MODULES = ("pgpy", "crypto.openpgp", "crypto.keys", "crypto.relay")


def loaded_by(data: MurmeliServer, *command: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *command],
        env=data.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == 0, done.stderr
    return result["modules"]


def openpgp_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] == "pgpy" or m in OPENPGP_MODULES]


def test_user_list_does_not_load_the_openpgp_stack(fresh_data):
    fresh_data.cli("user", "add", "lazy", "--no-password").check_returncode()
    assert openpgp_modules(loaded_by(fresh_data, "user", "list")) == []


def test_keys_list_loads_it(fresh_data):
    """The probe sees the stack when a command does use it."""
    fresh_data.cli("user", "add", "keyring", "--no-password").check_returncode()
    assert "pgpy" in openpgp_modules(loaded_by(fresh_data, "keys", "list", "--owner", "keyring"))
