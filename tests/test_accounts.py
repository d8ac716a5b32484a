"""Accounts against the running server: passwords, per-device app passwords, login by email."""

from __future__ import annotations

import requests

from tests.murmeli_process import MurmeliServer, unique_name


def can_log_in(server: MurmeliServer, login: str, password: str) -> bool:
    answer = requests.request(
        "PROPFIND", f"{server.url}/", auth=(login, password), headers={"Depth": "0"}
    )
    assert answer.status_code in (207, 401), answer.status_code
    return answer.status_code == 207


def test_app_password_works_until_revoked(server):
    name, password = server.add_user("dev")
    created = server.cli("user", "app-password", "add", name, "--label", "iphone")
    assert created.returncode == 0, created.stderr
    device_password = created.stdout.strip().splitlines()[-1]
    assert len(device_password.replace("-", "")) == 26

    assert can_log_in(server, name, device_password)
    assert can_log_in(server, name, password)
    listed = server.cli("user", "app-password", "list", name)
    assert "iphone" in listed.stdout
    assert device_password not in listed.stdout

    revoked = server.cli("user", "app-password", "revoke", name, "iphone")
    assert revoked.returncode == 0, revoked.stderr
    assert not can_log_in(server, name, device_password)
    assert can_log_in(server, name, password)


def test_each_device_is_revoked_alone(server):
    name, _ = server.add_user("dev")
    phone = requests.post(
        f"{server.url}/api/app-passwords", json={"label": "phone"}, auth=(name, _)
    )
    laptop = requests.post(
        f"{server.url}/api/app-passwords", json={"label": "laptop"}, auth=(name, _)
    )
    assert phone.status_code == laptop.status_code == 201
    phone_password, laptop_password = phone.json()["password"], laptop.json()["password"]
    assert can_log_in(server, name, phone_password)
    assert can_log_in(server, name, laptop_password)

    listed = requests.get(f"{server.url}/api/app-passwords", auth=(name, laptop_password)).json()
    assert sorted(entry["label"] for entry in listed) == ["laptop", "phone"]
    assert all("password" not in entry for entry in listed)

    gone = requests.delete(f"{server.url}/api/app-passwords/{phone.json()['id']}", auth=(name, _))
    assert gone.status_code == 200
    assert not can_log_in(server, name, phone_password)
    assert can_log_in(server, name, laptop_password)


def test_an_app_password_cannot_manage_app_passwords(server):
    name, password = server.add_user("dev")
    url = f"{server.url}/api/app-passwords"
    phone = requests.post(url, json={"label": "phone"}, auth=(name, password)).json()
    device = (name, phone["password"])
    more = requests.post(url, json={"label": "permanent"}, auth=device)
    assert more.status_code == 403 and "account password" in more.json()["error"]
    revoke = requests.delete(f"{url}/{phone['id']}", auth=device)
    assert revoke.status_code == 403
    assert [entry["label"] for entry in requests.get(url, auth=device).json()] == ["phone"]


def test_changed_password_takes_effect_at_once(server):
    name, old = server.add_user("dev")
    assert can_log_in(server, name, old)
    changed = server.cli("user", "passwd", name, "--password-stdin", stdin="a-new-password\n")
    assert changed.returncode == 0, changed.stderr
    assert not can_log_in(server, name, old)
    assert can_log_in(server, name, "a-new-password")


def test_login_by_email_and_removed_user(server):
    name = unique_name("mail")
    added = server.cli(
        "user",
        "add",
        name,
        "--password-stdin",
        "--email",
        f"{name}@example.org",
        stdin="long-enough-pw\n",
    )
    assert added.returncode == 0, added.stderr
    me = requests.get(f"{server.url}/api/me", auth=(f"{name}@example.org", "long-enough-pw"))
    assert me.json() == {
        "name": name,
        "email": f"{name}@example.org",
        "role": "collaborator",
        "teams": [],
    }

    assert server.cli("user", "remove", name).returncode == 0
    assert not can_log_in(server, name, "long-enough-pw")


def test_user_commands_report_bad_input(fresh_data):
    assert fresh_data.cli("user", "add", "ann", "--password-stdin", stdin="short\n").returncode == 2
    ok = fresh_data.cli("user", "add", "ann", "--password-stdin", stdin="long-enough\n")
    assert ok.returncode == 0, ok.stderr
    again = fresh_data.cli("user", "add", "ann", "--password-stdin", stdin="long-enough\n")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    bad_role = fresh_data.cli("user", "add", "bo", "--role", "boss", "--no-password")
    assert bad_role.returncode == 2
    missing = fresh_data.cli("user", "passwd", "nobody", "--password-stdin", stdin="long-enough\n")
    assert missing.returncode == 2
    assert "no such user 'nobody'" in missing.stderr
    reserved = fresh_data.cli("user", "add", "org", "--no-password")
    assert reserved.returncode == 2
    assert "names the whole organisation" in reserved.stderr
    bad_team = fresh_data.cli("user", "add", "cy", "--no-password", "--group", "Bad Team")
    assert bad_team.returncode == 2
    assert "invalid team name" in bad_team.stderr


def test_user_list_shows_roles_and_teams(fresh_data):
    for args in (("ann", "--role", "legal"), ("ext", "--role", "external", "--group", "sales")):
        assert fresh_data.cli("user", "add", *args, "--no-password").returncode == 0
    table = fresh_data.cli("user", "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "ROLE", "EMAIL", "TEAMS"]
    assert table[1].split() == ["ann", "legal", "-", "-"]
    assert table[2].split() == ["ext", "external", "-", "sales"]


def test_role_and_team_changes_take_effect_on_the_running_server(server):
    """``user role`` and ``user join|leave`` change what shares reach a person at once."""
    owner = server.add_user("owner")
    bob = server.add_user("bob")
    team = unique_name("team")
    server.add_user("member", teams=(team,))  # a team exists once it has a member
    assert can_log_in(server, *owner)  # the first login makes the calendar
    for target in (f"group:{team}", "org"):
        shared = server.cli("share", "add", f"/{owner[0]}/calendar/", "--with", target)
        assert shared.returncode == 0, shared.stderr
    mapped = f"{server.url}/{bob[0]}/{owner[0]}~calendar/"

    def sees_the_calendar() -> bool:
        return requests.get(mapped, auth=bob).status_code == 200

    def me() -> dict:
        return requests.get(f"{server.url}/api/me", auth=bob).json()

    assert sees_the_calendar()  # through the organisation
    assert server.cli("user", "role", bob[0], "external").returncode == 0
    assert me()["role"] == "external"
    assert not sees_the_calendar()  # externals are not the organisation

    assert server.cli("user", "join", bob[0], team).returncode == 0
    assert me()["teams"] == [team]
    assert sees_the_calendar()  # through the team
    assert server.cli("user", "leave", bob[0], team).returncode == 0
    assert me()["teams"] == []
    assert not sees_the_calendar()

    assert server.cli("user", "role", bob[0], "collaborator").returncode == 0
    assert sees_the_calendar()


def test_role_and_team_commands_refuse_what_they_cannot_do(fresh_data):
    assert fresh_data.cli("user", "add", "ann", "--no-password").returncode == 0
    for args, reason in (
        (("role", "nobody", "admin"), "no such user 'nobody'"),
        (("role", "ann", "boss"), "invalid choice"),
        (("join", "nobody", "sales"), "no such user 'nobody'"),
        (("join", "ann", "Bad Team"), "invalid team name"),
        (("leave", "ann", "sales"), "ann is not in team 'sales'"),
        (("leave", "nobody", "sales"), "no such user 'nobody'"),
    ):
        result = fresh_data.cli("user", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert reason in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
