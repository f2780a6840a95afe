"""Who may use every URL: an explicit decision for each route and method.

The table below is the decision. A new route without a row fails the test,
so every new page gets a conscious decision about who may open it.

Outcomes: "ok" (served: any answer that is not a refusal), "login" (sent to
sign in), "403" (refused), "security" (an administrator without two-factor
authentication is sent to set it up: "security", the account security page).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, login, login_2fa
from tests.factories import make_admin, make_user
from tests.security.test_every_url import build

WHO = ("anonymous", "maintainer", "admin_no2fa", "admin")

PUBLIC = ("ok", "ok", "ok", "ok")
USER = ("login", "ok", "ok", "ok")
ADMIN = ("login", "403", "security", "ok")
# The second sign-in step needs a pending sign-in (password accepted):
# nobody arrives here with one in this test, signed in or not.
SIGNIN_STEP = ("login", "login", "login", "login")

MATRIX: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    # The language menu: a cookie for visitors, the account's choice when signed in.
    ("POST", "/language"): PUBLIC,
    ("GET", "/giveaway"): PUBLIC,
    # Signed in but not eligible (no critical project): 403 with the checks.
    ("POST", "/giveaway/claim"): ("login", "403", "403", "403"),
    ("POST", "/giveaway/notify"): ("login", "403", "403", "403"),
    ("GET", "/account/"): USER,
    ("GET", "/account/register"): PUBLIC,
    ("POST", "/account/register"): PUBLIC,
    ("GET", "/account/login"): PUBLIC,
    ("POST", "/account/login"): PUBLIC,
    ("POST", "/account/logout"): PUBLIC,
    ("GET", "/account/reset"): PUBLIC,
    ("POST", "/account/reset"): PUBLIC,
    ("GET", "/account/reset/<token>"): PUBLIC,  # the token is the authority
    ("POST", "/account/reset/<token>"): PUBLIC,
    ("GET", "/account/activate/<token>"): PUBLIC,
    ("POST", "/account/activate/<token>"): PUBLIC,
    ("GET", "/account/verify/<token>"): PUBLIC,
    ("POST", "/account/verify/resend"): USER,
    ("POST", "/account/password"): USER,
    # Signed-in users have nothing to confirm: they are sent on (not refused).
    ("GET", "/account/login/2fa"): ("login", "ok", "ok", "ok"),
    # Cancelling always lands on the sign-in page.
    ("POST", "/account/login/2fa/cancel"): ("login", "login", "login", "login"),
    ("POST", "/account/login/2fa/totp"): SIGNIN_STEP,
    ("POST", "/account/login/2fa/recovery"): SIGNIN_STEP,
    ("POST", "/account/login/2fa/webauthn"): SIGNIN_STEP,
    ("POST", "/account/login/2fa/webauthn/options"): SIGNIN_STEP,
    ("GET", "/account/security"): USER,
    ("GET", "/account/security/recovery-codes"): USER,
    ("POST", "/account/security/recovery-codes"): USER,
    ("GET", "/account/security/recovery-codes/confirm"): USER,
    ("POST", "/account/security/recovery-codes/confirm"): USER,
    # TOTP already on (the admin): back to the security page.
    ("GET", "/account/security/totp"): ("login", "ok", "ok", "security"),
    ("POST", "/account/security/totp"): ("login", "ok", "ok", "security"),
    ("POST", "/account/security/totp/remove"): USER,
    ("POST", "/account/security/webauthn/<int:key_id>/remove"): USER,
    ("POST", "/account/security/webauthn/options"): USER,
    ("POST", "/account/security/webauthn/register"): USER,
    ("GET", "/admin/"): ADMIN,
    ("GET", "/admin/batches"): ADMIN,
    ("POST", "/admin/batches/upload"): ADMIN,
    ("POST", "/admin/batches/confirm"): ADMIN,
    ("POST", "/admin/codes/void"): ADMIN,
    ("GET", "/admin/claims"): ADMIN,
    ("GET", "/admin/claims.csv"): ADMIN,
    ("GET", "/admin/critical"): ADMIN,
    ("GET", "/admin/critical.csv"): ADMIN,
    ("GET", "/admin/imports"): ADMIN,
    ("GET", "/admin/events"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("GET", "/admin/users/<int:user_id>"): ADMIN,
    ("POST", "/admin/users/<int:user_id>/reset-2fa"): ADMIN,
    ("GET", "/admin/compliance"): ADMIN,
    ("GET", "/admin/pool.csv"): ADMIN,
    ("GET", "/admin/funnel.csv"): ADMIN,
    ("GET", "/admin/adoption.csv"): ADMIN,
    ("GET", "/admin/over-time.csv"): ADMIN,
    ("GET", "/giveaway/setup"): USER,
    # Refused to everyone until METRICS_TOKEN or METRICS_NETWORKS lets a scraper in.
    ("GET", "/metrics"): ("403", "403", "403", "403"),
    ("GET", "/account/history"): USER,
    ("GET", "/account/delete"): USER,
    # Without the password (and the box ticked) nothing is deleted: the form again.
    ("POST", "/account/delete"): USER,
    ("GET", "/admin/users/<int:user_id>/delete"): ADMIN,
    ("POST", "/admin/users/<int:user_id>/delete"): ADMIN,
    # Signs the user out and sends them to sign in again with a key.
    ("POST", "/giveaway/setup/sign-in-again"): ("login", "login", "login", "login"),
}


def routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    return sorted(found)


def test_every_route_has_a_decision(app):
    table = MATRIX
    missing = [route for route in routes(app) if route not in table]
    assert not missing, f"routes without an access decision in MATRIX: {missing}"
    stale = [route for route in MATRIX if route not in routes(app)]
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"


def any_token(client: FlaskClient) -> str:
    """The session's CSRF token, from whichever page shows a form to this user."""
    for page in ("/account/login", "/account/"):
        response = client.get(page)
        if response.status_code == 200:
            return csrf_token(client, page)
    raise AssertionError("no page with a form")


def outcome(client: FlaskClient, method: str, path: str) -> str:
    if method == "GET":
        response = client.get(path)
    else:
        # A real token: the refusal must come from the access rules, not CSRF.
        token = any_token(client)
        if path.endswith(("/options", "/register", "/webauthn")):
            response = client.post(path, json={}, headers={"X-CSRFToken": token})
        else:
            response = client.post(path, data={"csrf_token": token})
    status = response.status_code
    location = response.headers.get("Location", "")
    assert status < 500, f"{method} {path}: {status}"
    if status == 401 or (status in (302, 303) and "/account/login" in location):
        if "/account/login/2fa" in location:
            return "ok"
        return "login"
    if status == 403:
        return "403"
    if status in (302, 303) and re.search(r"/account/security$", location):
        return "security"
    return "ok"


@pytest.fixture
def clients(app: Flask) -> dict[str, FlaskClient]:
    for name in ("RATELIMIT_LOGIN", "RATELIMIT_TWOFACTOR", "RATELIMIT_CLAIM"):
        app.config[name] = "10000/minute"
    make_user(app, "maintainer")
    make_user(app, "admin_no2fa", is_admin=True)
    make_admin(app, "admin")
    made = {who: app.test_client() for who in WHO}
    login(made["maintainer"], "maintainer")
    login(made["admin_no2fa"], "admin_no2fa")
    login_2fa(made["admin"], "admin")
    return made


def fresh(app: Flask, who: str) -> FlaskClient:
    """A freshly signed-in client (some routes sign out or change the session)."""
    client = app.test_client()
    if who == "maintainer":
        login(client, "maintainer")
    elif who == "admin_no2fa":
        login(client, "admin_no2fa")
    elif who == "admin":
        login_2fa(client, "admin")
    return client


# Routes that end the session they are called in: use a fresh client each.
SESSION_ENDING = {("POST", "/account/logout"), ("POST", "/account/login/2fa/cancel")}


def test_the_access_matrix(app, clients):
    wrong = []
    for method, rule in routes(app):
        expected = MATRIX[(method, rule)]
        path = build(_rule(app, rule, method))
        for who, want in zip(WHO, expected, strict=True):
            client = fresh(app, who) if (method, rule) in SESSION_ENDING else clients[who]
            got = outcome(client, method, path)
            if got != want:
                wrong.append(f"{who} {method} {rule}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)


def _rule(app: Flask, rule: str, method: str):  # type: ignore[no-untyped-def]
    return next(r for r in app.url_map.iter_rules() if r.rule == rule and method in r.methods)
