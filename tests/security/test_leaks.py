"""Headers on every kind of answer, rate limits, and secrets that never leak."""

from __future__ import annotations

import json
import logging
import re

import pyotp
import sqlalchemy as sa

from giveaway import db
from tests.conftest import csrf_token, login, login_2fa, post_form
from tests.factories import ADMIN_TOTP_SECRET, TEST_PASSWORD, make_admin, make_user
from tests.security.test_every_url import check_headers

# --- headers and cookie flags on error pages and JSON ---------------------------------


def test_headers_on_error_pages_and_json(app):
    make_user(app, "alice")
    client = app.test_client()
    answers = {
        "404": client.get("/no-such-page"),
        "405": client.post("/"),
        "400 csrf": client.post("/account/login", data={}),
        "json 400 csrf": client.post("/account/security/webauthn/options", json={}),
    }
    login(client, "alice")
    answers["json options"] = client.post(
        "/account/security/webauthn/options",
        json={},
        headers={"X-CSRFToken": csrf_token(client, "/account/security")},
    )
    answers["json bad body"] = client.post(
        "/account/security/webauthn/register",
        data="{not json",
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token(client, "/account/security")},
    )
    answers["healthz"] = client.get("/healthz")
    for name, response in answers.items():
        assert response.status_code < 500, name
        check_headers(response, name)
        assert response.headers.get("X-Frame-Options") == "DENY", name
        assert response.headers.get("Cache-Control") == "no-store", name
        for cookie in response.headers.getlist("Set-Cookie"):
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, (name, cookie)
    assert answers["json options"].mimetype == "application/json"
    assert answers["json bad body"].mimetype == "application/json"


def test_the_500_page_carries_the_headers(app, client):
    @app.get("/explode")
    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError(f"password={TEST_PASSWORD}")

    response = client.get("/explode")
    assert response.status_code == 500
    check_headers(response, "/explode")
    body = response.get_data(as_text=True)
    assert TEST_PASSWORD not in body and "Traceback" not in body


def test_the_429_page_carries_the_headers(app, client, auth):
    app.config["RATELIMIT_LOGIN"] = "1/minute"
    make_user(app, "alice")
    auth.login("alice", "wrong-one-here")
    response = auth.login("alice", "wrong-one-here")
    assert response.status_code == 429
    check_headers(response, "429")


# --- rate limits: 429 and Retry-After --------------------------------------------------


def assert_limited(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.status_code
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    if response.mimetype == "text/html":
        assert "Too many" in response.get_data(as_text=True)


def test_register_and_reset_answer_429_with_retry_after(app, client):
    app.config["RATELIMIT_REGISTER"] = "1/minute"
    app.config["RATELIMIT_PASSWORD_RESET"] = "1/minute"
    post_form(client, "/account/register", {"username": "x"})
    assert_limited(post_form(client, "/account/register", {"username": "x"}))
    post_form(client, "/account/reset", {"identifier": "x"})
    assert_limited(post_form(client, "/account/reset", {"identifier": "x"}))


def test_second_step_answers_429_with_retry_after(app, client, auth):
    app.config["RATELIMIT_TWOFACTOR"] = "2/minute"
    make_admin(app, "root")
    auth.login("root")
    codes = []
    for _ in range(3):
        codes.append(
            post_form(
                client, "/account/login/2fa/totp", {"code": "000000"}, page="/account/login/2fa"
            )
        )
    assert_limited(codes[-1])
    # Even the right code waits: guessing is what the limit stops.
    right = pyotp.TOTP(ADMIN_TOTP_SECRET).now()
    token = csrf_token(client, "/account/login/2fa")
    assert_limited(
        client.post("/account/login/2fa/totp", data={"csrf_token": token, "code": right})
    )


def test_claim_answers_429_with_retry_after(app, client, auth):
    from tests.factories import make_maintainer

    app.config["RATELIMIT_CLAIM"] = "2/minute"
    make_maintainer(app, "erin")
    auth.login("erin")
    answers = [
        post_form(client, "/giveaway/claim", {"region": ""}, page="/giveaway") for _ in range(3)
    ]
    assert_limited(answers[-1])


# --- no secret in logs, events or pages ------------------------------------------------


def test_no_secret_reaches_logs_events_or_error_pages(app, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("werkzeug").setLevel(logging.DEBUG)
    found = _walk_through_every_secret(app)
    logs = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    _assert_nothing_leaked(found, logs)


def test_no_secret_reaches_the_json_logs(tmp_path, sqlite_template, caplog):
    """The same walk with the production log format: every JSON line, every field."""
    import io

    from tests.conftest import make_sqlite_app

    app = make_sqlite_app(tmp_path, sqlite_template, LOG_FORMAT="json", LOG_LEVEL="DEBUG")
    handler = app.extensions["logs.handler"]
    stream = io.StringIO()
    handler.setStream(stream)
    root = logging.getLogger()
    level = root.level
    try:
        logging.getLogger("werkzeug").setLevel(logging.DEBUG)
        found = _walk_through_every_secret(app)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        app.extensions["db.engine"].dispose()
    lines = stream.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    # The walk logged (requests, the claim); each line is one JSON object with a request id.
    assert any(r["message"] == "claim" and r.get("outcome") == "claimed" for r in records)
    assert all("request_id" in r for r in records)
    _assert_nothing_leaked(found, stream.getvalue())
    # No field carries the region answer, under any name.
    assert not any('"DE"' in json.dumps(r) or "region" in r for r in records)


def _walk_through_every_secret(app):  # type: ignore[no-untyped-def]
    """Register, sign in wrongly and rightly, set up TOTP and recovery codes, claim
    naming a region, sign in with a recovery code, open the admin pages; returns what
    must not leak and what the pages and events showed."""
    from giveaway.events.models import Event
    from tests.factories import make_batch, make_maintainer

    for name in ("RATELIMIT_CLAIM", "RATELIMIT_TWOFACTOR", "RATELIMIT_LOGIN"):
        app.config[name] = "1000/minute"
    secrets: list[str] = [TEST_PASSWORD, ADMIN_TOTP_SECRET]
    make_admin(app, "root")
    make_maintainer(app, "erin")
    make_maintainer(app, "mallory")
    make_batch(app, codes=["ERIN-SECRET-CODE-1", "MALL-SECRET-CODE-2", "SPARE-SECRET-CODE-3"])
    client = app.test_client()
    # Registration and a failed sign-in carry passwords.
    new_password = "Zebra-Quokka-Lantern-77"
    secrets.append(new_password)
    post_form(
        app.test_client(),
        "/account/register",
        {
            "username": "newbie",
            "email": "newbie@example.org",
            "password": new_password,
            "password_confirm": new_password,
        },
    )
    wrong = "wrong-Password-Typed-9"
    secrets.append(wrong)
    login(client, "erin", wrong)
    login(client, "erin")
    # TOTP set-up: the secret is on the page, then never again.
    page = client.get("/account/security/totp").get_data(as_text=True)
    secret = re.search(r'<code[^>]*class="totp-secret"[^>]*>([^<]+)<', page) or re.search(
        r"\b([A-Z2-7]{4}(?: [A-Z2-7]{4}){7})\b", page
    )
    assert secret, "no TOTP secret on the set-up page"
    raw_secret = secret.group(1).replace(" ", "")
    secrets.append(raw_secret)
    token = csrf_token(client, "/account/security/totp")
    response = client.post(
        "/account/security/totp",
        # A maintainer who could still claim ticks "I give up the free keys" (issue 13).
        data={"csrf_token": token, "code": pyotp.TOTP(raw_secret).now(), "give_up_keys": "y"},
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    codes_page = post_form(
        client, "/account/security/recovery-codes", {}, page="/account/security/recovery-codes"
    ).get_data(as_text=True)
    recovery = re.findall(r"<li><code>([^<]+)</code></li>", codes_page)
    assert recovery
    secrets.extend(recovery)
    # Mallory claims (her code is a secret from everyone else) naming a region.
    mallory = app.test_client()
    login(mallory, "mallory")
    post_form(mallory, "/giveaway/claim", {"region": "DE"}, page="/giveaway")
    mallory_page = mallory.get("/giveaway").get_data(as_text=True)
    [mallorys] = re.findall(r'id="promo-code">([^<]+)<', mallory_page)
    # A recovery-code sign-in, a TOTP sign-in with a wrong code.
    post_form(client, "/account/logout", {}, page="/account/")
    login(client, "erin")
    post_form(
        client,
        "/account/login/2fa/recovery",
        {"recovery_code": recovery[0]},
        page="/account/login/2fa",
    )
    admin = app.test_client()
    login_2fa(admin, "root")
    admin_pages = "".join(
        admin.get(path).get_data(as_text=True)
        for path in ("/admin/events", "/admin/users", "/admin/claims", "/admin/batches")
    )
    erin_pages = "".join(
        client.get(path).get_data(as_text=True)
        for path in ("/account/", "/account/security", "/giveaway", "/no-such-page")
    )
    with app.app_context():
        details = [
            json.dumps(e.detail, default=str) + " " + str(e.kind)
            for e in db.session().scalars(sa.select(Event))
        ]
    return {
        "secrets": secrets,
        "mallorys": mallorys,
        "details": details,
        "admin_pages": admin_pages,
        "erin_pages": erin_pages,
        "recovery": recovery,
        "raw_secret": raw_secret,
    }


def _assert_nothing_leaked(found, logs: str) -> None:  # type: ignore[no-untyped-def]
    secrets, mallorys, details = found["secrets"], found["mallorys"], found["details"]
    admin_pages, erin_pages = found["admin_pages"], found["erin_pages"]
    recovery, raw_secret = found["recovery"], found["raw_secret"]
    for secret_value in secrets:
        assert secret_value not in logs, f"{secret_value!r} in the logs"
        assert not any(secret_value in d for d in details), f"{secret_value!r} in an event"
    assert mallorys not in logs and not any(mallorys in d for d in details)
    assert mallorys not in erin_pages
    assert '"DE"' not in " ".join(details) and "Germany" not in logs
    assert not any('"region"' in d for d in details)
    # The codes pages show codes only masked; the admin never sees recovery codes.
    assert not any(code in admin_pages for code in recovery)
    assert raw_secret not in admin_pages and raw_secret not in erin_pages


def test_request_logs_never_show_the_tokens_of_emailed_links(app, caplog):
    """The development server logs each request line: links in mail carry tokens."""
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("werkzeug")
    for path in ("/account/reset/", "/account/activate/", "/account/verify/"):
        log.info('%s - - "GET %s HTTP/1.1" 200 -', "127.0.0.1", path + "eyJ1IjoxfQ.abc-DEF_123")
    assert "eyJ1IjoxfQ" not in caplog.text
    assert caplog.text.count("[token]") == 3


def test_json_endpoints_answer_429_with_retry_after(app, client, auth):
    app.config["RATELIMIT_TWOFACTOR_OPTIONS"] = "1/minute"
    make_user(app, "alice")
    auth.login("alice")
    token = csrf_token(client, "/account/security")
    answers = [
        client.post("/account/security/webauthn/options", json={}, headers={"X-CSRFToken": token})
        for _ in range(3)
    ]
    limited = answers[-1]
    assert_limited(limited)
    check_headers(limited, "json 429")
