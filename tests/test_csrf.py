"""Cross-site requests: what a page on another site can make a logged-in browser send to
``/api/`` is refused before it changes anything; the server's own pages and API clients
are served."""

from __future__ import annotations

import json

import pytest
import requests

from davserver.csrf import JSON, refusal


def environ(method: str = "POST", body: bytes = b"{}", **headers: str) -> dict:
    values = {"REQUEST_METHOD": method, "PATH_INFO": "/api/shares", "HTTP_HOST": "dav.example"}
    values["CONTENT_LENGTH"] = str(len(body)) if body else ""
    values.update(headers)
    return values


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_the_bodies_a_form_can_send_are_refused(content_type):
    assert refusal(environ(CONTENT_TYPE=content_type), JSON, None)[0] == 415


def test_a_body_without_content_type_is_refused_an_empty_one_is_not():
    assert refusal(environ(), JSON, None)[0] == 415
    assert refusal(environ(body=b""), JSON, None) is None
    assert refusal(environ("DELETE", b""), JSON, None) is None


def test_a_foreign_origin_or_fetch_site_is_refused_even_for_json():
    json_type = {"CONTENT_TYPE": "application/json"}
    assert refusal(environ(HTTP_ORIGIN="https://evil.example", **json_type), JSON, None)[0] == 403
    assert refusal(environ(HTTP_SEC_FETCH_SITE="cross-site", **json_type), JSON, None)[0] == 403
    assert refusal(environ(HTTP_SEC_FETCH_SITE="same-site", **json_type), JSON, None)[0] == 403
    assert refusal(environ(HTTP_ORIGIN="null", **json_type), JSON, None)[0] == 403


def test_the_servers_own_origin_and_its_public_url_are_served():
    json_type = {"CONTENT_TYPE": "application/json", "HTTP_SEC_FETCH_SITE": "same-origin"}
    assert refusal(environ(HTTP_ORIGIN="http://dav.example", **json_type), JSON, None) is None
    public = environ(HTTP_ORIGIN="https://cal.example.org", **json_type)
    assert refusal(public, JSON, "https://cal.example.org/dav/") is None


def test_public_form_routes_keep_the_origin_check_only():
    form = {"CONTENT_TYPE": "application/x-www-form-urlencoded"}
    assert refusal(environ(**form), None, None) is None
    assert refusal(environ(HTTP_ORIGIN="https://evil.example", **form), None, None)[0] == 403
    assert refusal(environ(HTTP_ORIGIN="null", **form), None, None) is None  # no-referrer page


def test_safe_methods_are_never_refused():
    assert refusal(environ("GET", HTTP_ORIGIN="https://evil.example"), JSON, None) is None


def test_a_cross_site_share_is_refused_and_nothing_is_written(server):
    owner, friend = server.add_user("alice"), server.add_user("bob")
    share = {"collection": f"/{owner[0]}/calendar/", "with": friend[0], "access": "write"}
    url = f"{server.url}/api/shares"
    as_text = requests.post(
        url,
        data=json.dumps(share),
        headers={"Content-Type": "text/plain"},
        auth=owner,
    )
    assert as_text.status_code == 415 and "application/json" in as_text.json()["error"]
    foreign = requests.post(url, json=share, headers={"Origin": "https://evil.example"}, auth=owner)
    assert foreign.status_code == 403 and "cross-site" in foreign.json()["error"]
    fetched = requests.post(url, json=share, headers={"Sec-Fetch-Site": "cross-site"}, auth=owner)
    assert fetched.status_code == 403
    assert requests.get(url, auth=owner).json()["owned"] == []


def test_the_servers_own_pages_and_api_clients_are_served(server):
    name, password = server.add_user("dev")
    url = f"{server.url}/api/app-passwords"
    same_origin = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    from_page = requests.post(
        url, json={"label": "web"}, headers=same_origin, auth=(name, password)
    )
    assert from_page.status_code == 201, from_page.text
    from_client = requests.post(url, json={"label": "cli"}, auth=(name, password))
    assert from_client.status_code == 201
    form = requests.post(url, data={"label": "form"}, auth=(name, password))
    assert form.status_code == 415
    labels = {entry["label"] for entry in requests.get(url, auth=(name, password)).json()}
    assert labels == {"web", "cli"}


def test_a_public_link_cannot_be_posted_from_another_site(server):
    link = f"{server.url}/api/reminders/stop/not-a-token"
    assert requests.post(link).status_code == 404
    foreign = requests.post(link, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
