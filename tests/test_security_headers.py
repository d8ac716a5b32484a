"""Browser security headers on a real server: every HTML answer (Radicale's ``/.web/``
included) carries a CSP, refuses framing and sends no Referer; no answer is sniffed; and
``/.web/`` still works in Chromium under that policy."""

from __future__ import annotations

import requests
from playwright.sync_api import expect

from davserver.security_headers import secured


def test_html_answers_get_every_header_and_keep_their_own_policy():
    html = dict(secured([("Content-Type", "text/html; charset=utf-8")]))
    assert "frame-ancestors 'none'" in html["Content-Security-Policy"]
    assert html["X-Frame-Options"] == "DENY"
    assert html["Referrer-Policy"] == "no-referrer"
    assert html["X-Content-Type-Options"] == "nosniff"
    own = secured(
        [("Content-Type", "text/html"), ("Content-Security-Policy", "default-src 'none'")]
    )
    assert [value for name, value in own if name == "Content-Security-Policy"] == [
        "default-src 'none'"
    ]
    assert dict(secured([("Content-Type", "application/json")])) == {
        "Content-Type": "application/json",
        "X-Content-Type-Options": "nosniff",
    }


def test_radicales_web_pages_and_murmelis_answers_carry_the_headers(server):
    web = requests.get(f"{server.url}/.web/", timeout=30)
    assert web.status_code == 200 and web.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in web.headers["Content-Security-Policy"]
    assert web.headers["X-Frame-Options"] == "DENY"
    assert web.headers["Referrer-Policy"] == "no-referrer"
    assert web.headers["X-Content-Type-Options"] == "nosniff"
    stop_page = requests.get(f"{server.url}/api/reminders/stop/unknown", timeout=30)
    assert stop_page.headers["Content-Type"].startswith("text/html")
    assert stop_page.headers["X-Content-Type-Options"] == "nosniff"
    assert stop_page.headers["Referrer-Policy"] == "no-referrer"
    api = requests.get(f"{server.url}/api/me", timeout=30)
    assert api.headers["X-Content-Type-Options"] == "nosniff"




def test_the_web_interface_works_under_the_policy(server, browser):
    name, password = server.add_user("web")
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{server.url}/.web/")
    page.locator('#loginscene input[data-name="user"]').fill(name)
    page.locator('#loginscene input[data-name="password"]').fill(password)
    page.locator('#loginscene input[data-name="password"]').press("Enter")
    expect(page.locator("#logoutview span[data-name='user']")).to_contain_text(name)
    expect(page.locator("#collectionsscene")).to_be_visible()
    page.close()
    assert not [text for text in problems if "Content Security Policy" in text], problems
