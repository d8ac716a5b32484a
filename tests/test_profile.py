"""The Apple configuration profile sets up both accounts against this server."""

from __future__ import annotations

import plistlib
from urllib.parse import urlsplit

import requests

from davserver.profile import Endpoint, build_profile


def test_profile_describes_caldav_and_carddav_accounts(server):
    name, password = server.add_user("apple")
    answer = requests.get(f"{server.url}/api/profile.mobileconfig", auth=(name, password))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/x-apple-aspen-config"
    profile = plistlib.loads(answer.content)
    assert profile["PayloadType"] == "Configuration"
    caldav, carddav = profile["PayloadContent"]
    url = urlsplit(server.url)
    assert caldav["PayloadType"] == "com.apple.caldav.account"
    assert caldav["CalDAVHostName"] == url.hostname
    assert caldav["CalDAVPort"] == url.port
    assert caldav["CalDAVUseSSL"] is False
    assert caldav["CalDAVUsername"] == name
    assert caldav["CalDAVPrincipalURL"] == f"/{name}/"
    assert "CalDAVPassword" not in caldav
    assert carddav["PayloadType"] == "com.apple.carddav.account"
    assert carddav["CardDAVPrincipalURL"] == f"/{name}/"
    assert len({profile["PayloadUUID"], caldav["PayloadUUID"], carddav["PayloadUUID"]}) == 3


def test_profile_can_carry_a_new_app_password(server):
    name, password = server.add_user("apple")
    answer = requests.post(
        f"{server.url}/api/profile.mobileconfig",
        json={"app_password": "mac"},
        auth=(name, password),
    )
    assert answer.status_code == 200, answer.text
    device_password = plistlib.loads(answer.content)["PayloadContent"][0]["CalDAVPassword"]
    me = requests.get(f"{server.url}/api/me", auth=(name, device_password))
    assert me.status_code == 200
    labels = [
        p["label"]
        for p in requests.get(f"{server.url}/api/app-passwords", auth=(name, password)).json()
    ]
    assert labels == ["mac"]


def test_a_get_creates_no_app_password(server):
    name, password = server.add_user("apple")
    url = f"{server.url}/api/profile.mobileconfig"
    answer = requests.get(url, params={"app-password": "mac"}, auth=(name, password))
    assert answer.status_code == 400 and "POST" in answer.json()["error"]
    assert requests.get(f"{server.url}/api/app-passwords", auth=(name, password)).json() == []


def test_an_app_password_cannot_mint_another_through_a_profile(server):
    name, password = server.add_user("apple")
    url = f"{server.url}/api/profile.mobileconfig"
    first = requests.post(url, json={"app_password": "mac"}, auth=(name, password))
    device_password = plistlib.loads(first.content)["PayloadContent"][0]["CalDAVPassword"]
    second = requests.post(url, json={"app_password": "ipad"}, auth=(name, device_password))
    assert second.status_code == 403
    labels = [
        p["label"]
        for p in requests.get(f"{server.url}/api/app-passwords", auth=(name, password)).json()
    ]
    assert labels == ["mac"]


def test_profile_requires_login(server):
    assert requests.get(f"{server.url}/api/profile.mobileconfig").status_code == 401


def test_same_user_and_host_give_the_same_identifiers():
    endpoint = Endpoint("dav.example.org", 443, True, "")
    first = plistlib.loads(build_profile(endpoint, "ann", "Example"))
    second = plistlib.loads(build_profile(endpoint, "ann", "Example"))
    other = plistlib.loads(build_profile(endpoint, "bob", "Example"))
    assert first["PayloadUUID"] == second["PayloadUUID"] != other["PayloadUUID"]
    assert first["PayloadIdentifier"] == "org.example.dav.murmeli.ann"
