"""The configuration file: defaults, validation errors that name the key and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import loader
from config.schema import Listen, byte_size, listen
from tests.murmeli_process import MurmeliServer


def test_no_file_means_embedded_defaults():
    settings = loader.load(None)
    assert settings.server.listen == Listen("127.0.0.1", 5232)
    assert settings.server.data == Path("var")
    assert settings.database.url is None


def test_a_full_file_is_read():
    settings = loader.parse(
        "server:\n  listen: '[::1]:8443'\n  max_body_size: 2MB\n  tls:\n"
        "    certificate: /etc/c.pem\n    key: /etc/k.pem\n"
        "database:\n  url: postgresql://murmeli@db/murmeli\n",
        "m.yaml",
    )
    assert str(settings.server.listen) == "[::1]:8443"
    assert settings.server.max_body_size == 2 * 1024 * 1024
    assert settings.server.tls.key == Path("/etc/k.pem")
    assert settings.database.url == "postgresql://murmeli@db/murmeli"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "server:\n  lissten: x\n",
            "m.yaml:2: server.lissten: unknown key (expected one of: listen,",
        ),
        (
            "server:\n  threads: many\n",
            "m.yaml:2: server.threads: expected a whole number, got 'many'",
        ),
        (
            "server:\n  threads: 0\n",
            "m.yaml:2: server.threads: expected a number from 1 to 512, got 0",
        ),
        ("server:\n  listen: localhost\n", "m.yaml:2: server.listen: expected HOST:PORT"),
        ("server: 5\n", "m.yaml:1: server: expected a mapping of keys to values"),
        (
            "\n\nserver:\n  tls:\n    key: /k\n",
            "m.yaml:5: server.tls: certificate and key must be given together",
        ),
        (
            "server:\n  log_level: loud\n",
            "m.yaml:2: server.log_level: expected one of debug, info,",
        ),
        (
            "server:\n  listen: 1.2.3.4:1\n  listen: 1.2.3.4:2\n",
            "m.yaml:3: server.listen: given twice",
        ),
        ("server: [\n", "m.yaml:2: not valid YAML"),
    ],
)
def test_errors_name_the_line_and_the_key(text, message):
    with pytest.raises(loader.ConfigError) as caught:
        loader.parse(text, "m.yaml")
    assert str(caught.value).startswith(message)


def test_parsers_refuse_what_they_cannot_read():
    assert byte_size("10 MiB") == 10 * 1024 * 1024
    assert listen("0.0.0.0:0") == Listen("0.0.0.0", 0)
    for bad in ("0", "ten", True, -3):
        with pytest.raises(ValueError):
            byte_size(bad)
    with pytest.raises(ValueError):
        listen("1.2.3.4:70000")


def test_check_config_command(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("server:\n  threads: 4\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("# comment\nserver:\n  threads: -1\n")
    cli = MurmeliServer(tmp_path / "data")
    assert cli.cli("check-config", str(good)).returncode == 0
    refused = cli.cli("check-config", str(bad))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"murmeli: error: {bad}:3: server.threads: expected a number from 1 to 512, got -1"
    )
    example = tmp_path / "example.yaml"
    example.write_text(cli.cli("check-config", "--example").stdout)
    assert loader.load(example) == loader.load(None)


def test_serve_refuses_a_bad_configuration_before_starting(tmp_path):
    config = tmp_path / "murmeli.yaml"
    config.write_text("server:\n  unknown_option: 1\n")
    server = MurmeliServer(tmp_path / "data", config=config)
    result = server.cli("serve")
    assert result.returncode == 2
    assert f"{config}:2: server.unknown_option: unknown key" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_murmeli_config_environment_variable_is_used(tmp_path):
    config = tmp_path / "murmeli.yaml"
    config.write_text("server:\n  listen: nonsense\n")
    result = MurmeliServer(tmp_path / "data", config=config).cli("serve")
    assert result.returncode == 2
    assert "server.listen: expected HOST:PORT" in result.stderr
