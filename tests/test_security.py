"""Security headers, cookies, CSRF, rate limits, error pages and /healthz."""

from __future__ import annotations

import logging
import re
import socket
import uuid

import pytest
from flask import abort

from giveaway.security import safe_next
from tests.conftest import AuthActions, base_config, login, post_form, require
from tests.factories import TEST_PASSWORD, make_user

PAGES = ["/", "/account/login", "/account/register", "/account/reset", "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_security_headers_on_every_page(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(client, path):
    html = client.get(path).get_data(as_text=True)
    # Code only from files; the one data block (the scripts' words) is JSON, never run.
    assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", html)
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in html


def test_https_adds_hsts(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def _session_cookie(response) -> str:  # type: ignore[no-untyped-def]
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_session_cookie_is_httponly_lax_and_not_secure_over_http(client):
    cookie = _session_cookie(client.get("/account/login"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_is_secure_over_https(app):
    make_user(app, "alice")
    client = app.test_client()
    cookie = _session_cookie(client.get("/account/login", base_url="https://localhost"))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = client.get("/account/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/account/login",
        base_url="https://localhost",
        data={"csrf_token": token, "username": "alice", "password": TEST_PASSWORD},
        headers={"Referer": "https://localhost/account/login"},
    )
    assert response.status_code == 302
    assert "Secure" in _session_cookie(response)


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/account/login", {"username": "alice", "password": TEST_PASSWORD}),
        ("/account/register", {"username": "z", "email": "z@example.org"}),
        ("/account/reset", {"identifier": "alice"}),
        ("/account/logout", {}),
        ("/account/password", {}),
        ("/account/verify/resend", {}),
    ],
)
def test_every_post_needs_a_csrf_token(app, client, path, data):
    make_user(app, "alice")
    # Refused and sent back to the form's page with why, not to a bare 400.
    response = client.post(path, data=data)
    assert response.status_code == 303
    html = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Your session expired before the form was sent, so nothing was done" in html
    response = client.post(path, data=data | {"csrf_token": "forged"})
    assert response.status_code == 303


def test_every_post_route_is_csrf_protected(app):
    """No view is exempt: CSRFProtect guards every POST the portal has."""
    from giveaway.extensions import csrf

    assert not csrf._exempt_views and not csrf._exempt_blueprints
    assert app.config["WTF_CSRF_ENABLED"] is True


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/d"),
        ("", "/d"),
        ("/account/", "/account/"),
        ("/a?b=c#d", "/a?b=c#d"),
        ("//evil.example", "/d"),
        ("///evil.example", "/d"),
        ("https://evil.example", "/d"),
        ("/\\evil.example", "/d"),
        ("javascript:alert(1)", "/d"),
        ("data:text/html,x", "/d"),
        ("/\nLocation: x", "/d"),
        ("relative/path", "/d"),
    ],
)
def test_safe_next(target, expected):
    assert safe_next(target, "/d") == expected


# --- rate limits ---------------------------------------------------------------------


def _hammer(client, n: int):  # type: ignore[no-untyped-def]
    auth = AuthActions(client)
    return [auth.login("alice", "wrong-password-x").status_code for _ in range(n)]


def test_sign_in_is_rate_limited_with_a_friendly_page(app, client, auth):
    app.config["RATELIMIT_LOGIN"] = "3/minute"
    make_user(app, "alice")
    assert _hammer(client, 3) == [401, 401, 401]
    response = auth.login("alice")  # even the right password waits
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    html = response.get_data(as_text=True)
    assert "Too many attempts" in html
    assert "<main" in html
    assert client.get("/account/login").status_code == 200  # only POST counts


@pytest.mark.parametrize(
    ("setting", "path", "data"),
    [
        ("RATELIMIT_REGISTER", "/account/register", {"username": "x"}),
        ("RATELIMIT_PASSWORD_RESET", "/account/reset", {"identifier": "nobody"}),
    ],
)
def test_registration_and_reset_are_rate_limited(app, client, setting, path, data):
    app.config[setting] = "2/minute"
    codes = [post_form(client, path, data).status_code for _ in range(3)]
    assert codes[-1] == 429
    assert codes[:2] != [429, 429]


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _make_app(tmp_path, sqlite_template, **overrides):  # type: ignore[no-untyped-def]
    from tests.conftest import make_sqlite_app

    return make_sqlite_app(tmp_path, sqlite_template, **overrides)


def test_rate_limits_shared_through_redis(tmp_path, sqlite_template):
    require(_redis_up(), "Redis is not running on 127.0.0.1:6379")
    prefix = f"giveaway-test-{uuid.uuid4().hex}"
    first = _make_app(
        tmp_path,
        sqlite_template,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379",
        RATELIMIT_KEY_PREFIX=prefix,
        RATELIMIT_LOGIN="2/minute",
    )
    make_user(first, "alice")
    client = first.test_client()
    assert _hammer(client, 2) == [401, 401]
    assert login(client, "alice").status_code == 429
    import redis

    keys = redis.Redis(host="127.0.0.1", port=6379).keys(f"*{prefix}*")
    assert keys  # the counts live in Redis, where every host sees them
    redis.Redis(host="127.0.0.1", port=6379).delete(*keys)
    first.extensions["db.engine"].dispose()


def test_portal_keeps_serving_when_redis_is_down(tmp_path, sqlite_template, caplog):
    app = _make_app(
        tmp_path,
        sqlite_template,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1",
        RATELIMIT_LOGIN="1/minute",
    )
    make_user(app, "alice")
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        assert _hammer(client, 3) == [401, 401, 401]  # limits fail open
        assert login(client, "alice").status_code == 302
    assert client.get("/account/").status_code == 200
    assert any(
        r.levelno >= logging.WARNING and r.name.startswith("flask-limiter") for r in caplog.records
    )
    app.extensions["db.engine"].dispose()


# --- error pages -----------------------------------------------------------------------


def test_friendly_error_pages(app, client, caplog):
    @app.get("/forbidden")
    def forbidden():  # type: ignore[no-untyped-def]
        abort(403)

    @app.get("/broken")
    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    cases = [
        ("/forbidden", 403, "Not allowed"),
        ("/no-such-page", 404, "Page not found"),
        ("/broken", 500, "Something went wrong"),
    ]
    for path, code, title in cases:
        response = client.get(path)
        assert response.status_code == code
        html = response.get_data(as_text=True)
        assert title in html
        assert f"Error {code}" in html
        assert 'href="/"' in html
        assert "Traceback" not in html and "boom" not in html
    assert client.post("/").status_code == 405
    assert "unhandled error on GET /broken" in caplog.text


def test_healthz_answers_when_the_database_does(any_app):
    response = any_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def app_without_database(tmp_path):  # type: ignore[no-untyped-def]
    from giveaway import create_app

    application = create_app(
        base_config(tmp_path) | {"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    )
    yield application
    application.extensions["db.engine"].dispose()


def test_healthz_is_503_when_the_database_is_unreachable(app_without_database):
    response = app_without_database.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_pages_show_a_friendly_503_when_the_database_is_down(app_without_database, caplog):
    client = app_without_database.test_client()
    assert client.get("/").status_code == 200  # pages without data still work
    response = post_form(client, "/account/login", {"username": "alice", "password": "x" * 12})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 30
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html
    assert "Traceback" not in html
    # A signed-in visitor (a session cookie naming a user) still gets pages.
    with client.session_transaction() as session:
        session["_user_id"] = "1:0"
    assert client.get("/").status_code == 200
    assert "database error on POST /account/login" in caplog.text


def test_password_change_is_rate_limited(app, client, auth):
    app.config["RATELIMIT_LOGIN"] = "2/minute"
    make_user(app, "alice")
    auth.login("alice")
    app.config["RATELIMIT_LOGIN"] = "1/minute"
    data = {
        "current_password": "guess-number-one",
        "password": "x" * 12,
        "password_confirm": "x" * 12,
    }
    codes = [
        post_form(client, "/account/password", data, page="/account/").status_code for _ in range(2)
    ]
    assert codes == [400, 429]
