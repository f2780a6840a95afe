"""Walk the URL map: rules that hold for every page, present and future."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from werkzeug.routing import Rule

from tests.conftest import login
from tests.factories import make_admin, make_user

DUMMY = {"int": 1, "string": "x", "path": "x", "default": "x", "any": "x", "uuid": "0" * 32}


def build(rule: Rule) -> str:
    path = rule.rule
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        value = DUMMY.get(converter or "default", "x")
        path = re.sub(r"<[^>]*\b" + name + ">", str(value), path, count=1)
    return path


def rules(app: Flask, method: str) -> list[Rule]:
    return sorted(
        (
            r
            for r in app.url_map.iter_rules()
            if method in (r.methods or ()) and r.endpoint != "static"
        ),
        key=lambda r: r.rule,
    )


def test_every_post_needs_a_csrf_token(app, client, auth):
    make_user(app, "csrf-user", is_admin=True)
    auth.login("csrf-user")
    posts = rules(app, "POST")
    assert posts, "no POST routes found"
    for rule in posts:
        # Refused and sent back to the form's page with why (not done, not a bare 400).
        response = client.post(build(rule), data={"anything": "1"})
        assert response.status_code == 303, f"{rule.rule} accepted a POST without a CSRF token"
        with client.session_transaction() as session:
            flashes = [text for _, text in session.pop("_flashes", [])]
        assert any("session expired" in text for text in flashes), rule.rule


def test_every_post_needs_a_csrf_token_anonymous(client, app):
    for rule in rules(app, "POST"):
        response = client.post(build(rule), json={"anything": 1})
        assert response.status_code == 400, f"{rule.rule} accepted a POST without a CSRF token"
        assert "session expired" in response.get_json()["error"]


SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def check_headers(response, path):
    for name, expected in SECURITY_HEADERS.items():
        assert expected in response.headers.get(name, ""), f"{path}: {name} missing"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path


@pytest.mark.parametrize("who", ["anonymous", "maintainer", "admin"])
def test_security_headers_on_every_page(app, client, auth, who):
    if who == "admin":
        make_admin(app, who)
        auth.login_with_totp(who)
    elif who != "anonymous":
        make_user(app, who)
        auth.login(who)
    for rule in rules(app, "GET"):
        path = build(rule)
        response = client.get(path)
        assert response.status_code < 500, f"{path} answered {response.status_code}"
        check_headers(response, path)
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            # No inline script and no inline event handlers: the CSP would block them.
            # (The one data block, the scripts' words, is JSON: never run.)
            inline = r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>"
            assert not re.search(inline, html), f"{path}: inline <script>"
            assert not re.search(r"\son[a-z]+=\"", html), f"{path}: inline event handler"


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    check_headers(response, "/no-such-page")
    assert "Page not found" in response.get_data(as_text=True)


def test_every_admin_url_is_refused_to_anonymous_and_maintainers(app):
    admin_rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin")]
    assert admin_rules
    anonymous = app.test_client()
    make_user(app, "plain")
    maintainer = app.test_client()
    login(maintainer, "plain")
    make_user(app, "no2fa", is_admin=True)
    admin_without_2fa = app.test_client()
    login(admin_without_2fa, "no2fa")
    for rule in admin_rules:
        path = build(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if method != "GET":
                continue  # POSTs are refused before this by CSRF; see above
            response = anonymous.open(path, method=method)
            assert response.status_code in (302, 401, 403), f"anonymous {method} {path}"
            if response.status_code == 302:
                assert "/account/login" in response.headers["Location"]
            response = maintainer.open(path, method=method)
            assert response.status_code == 403, (
                f"maintainer {method} {path}: {response.status_code}"
            )


def test_session_cookie_flags(app, client, auth):
    make_user(app, "cookie")
    response = auth.login("cookie")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in this test
    secure = app.test_client()
    response = secure.get("/account/login", base_url="https://localhost")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    response = secure.post(
        "/account/login",
        data={
            "csrf_token": token.group(1),
            "username": "cookie",
            "password": "a-long-test-passphrase",
        },
        base_url="https://localhost",
        headers={"Referer": "https://localhost/account/login"},
    )
    assert "Secure" in response.headers.get("Set-Cookie", "")
    assert "Strict-Transport-Security" in response.headers


def test_unchanged_sessions_are_not_rewritten(app, client, auth):
    """A response that did not change the session sets no cookie: a slow one
    (a stylesheet) would otherwise overwrite a newer session, such as one
    holding a WebAuthn challenge."""
    make_user(app, "steady")
    auth.login("steady")
    client.get("/account/")  # shows (and so removes) the "signed in" message
    for path in ("/static/css/site.css", "/account/", "/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path
        response.close()
