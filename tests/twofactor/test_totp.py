"""Authenticator apps (TOTP) with real codes from pyotp."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from giveaway.twofactor import status
from tests.factories import events_of, make_user, reload_user

# The middle of a 30-second step, so that "one step later" is unambiguous.
NOW = datetime(2026, 3, 2, 12, 0, 15, tzinfo=UTC)


def code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


@pytest.fixture
def fixed_clock(app):
    app.config["CLOCK"] = lambda: NOW
    return NOW


def setup_page_secret(flow) -> str:  # type: ignore[no-untyped-def]
    page = flow.client.get("/account/security/totp").get_data(as_text=True)
    match = re.search(r"data-totp-secret>([A-Z2-7 ]+)<", page)
    assert match, page
    return match.group(1).replace(" ", "")


def confirm(flow, value: str):  # type: ignore[no-untyped-def]
    token = flow.token("/account/security/totp")
    return flow.client.post("/account/security/totp", data={"csrf_token": token, "code": value})


def enable_totp(flow) -> str:  # type: ignore[no-untyped-def]
    secret = setup_page_secret(flow)
    response = confirm(flow, code(secret, NOW))
    assert response.status_code == 302, response.get_data(as_text=True)
    return secret


def test_setup_shows_qr_and_secret_and_needs_a_code(app, flow, alice, fixed_clock, outbox):
    flow.password("alice")
    page = flow.client.get("/account/security/totp").get_data(as_text=True)
    match = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert match
    svg = base64.b64decode(match.group(1)).decode()
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    secret = setup_page_secret(flow)
    assert len(secret) == 32
    # The pending secret stays the same while the page is reloaded.
    assert setup_page_secret(flow) == secret
    # Not on before a good code.
    assert confirm(flow, "123456" if code(secret, NOW) != "123456" else "654321").status_code == 400
    assert reload_user(app, "alice").totp_secret is None

    response = confirm(flow, code(secret, NOW))
    assert response.headers["Location"] == "/account/security/recovery-codes"
    user = reload_user(app, "alice")
    assert user.totp_secret == secret
    assert user.first_2fa_enabled_at == NOW
    assert events_of(app, "2fa:totp_enabled")
    assert any("authenticator app" in m["Subject"] for m in outbox.to("alice@example.org"))
    # The code used to confirm cannot sign in.
    flow.logout()
    flow.password("alice")
    assert flow.signin_totp(code(secret, NOW)).status_code == 400


def test_setup_needs_a_verified_email(app, flow):
    make_user(app, "newbie", email_verified_at=None)
    flow.password("newbie")
    response = flow.client.get("/account/security/totp")
    assert response.headers["Location"] == "/account/security"


def test_sign_in_with_totp(app, flow, alice, fixed_clock):
    flow.password("alice")
    secret = enable_totp(flow)
    flow.logout()
    later = NOW + timedelta(seconds=60)
    app.config["CLOCK"] = lambda: later
    response = flow.password("alice", next_url="/account/security")
    assert response.headers["Location"] == "/account/login/2fa"
    page = flow.client.get("/account/login/2fa").get_data(as_text=True)
    assert "Code from your authenticator app" in page
    assert "Use my security key" not in page
    response = flow.signin_totp(code(secret, later))
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security"
    assert flow.signed_in_as() == "alice"
    assert reload_user(app, "alice").totp_last_step == int(later.timestamp()) // 30


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-60, False), (-30, True), (0, True), (30, True), (60, False)],
)
def test_clock_drift(app, flow, alice, fixed_clock, offset, accepted):
    flow.password("alice")
    secret = enable_totp(flow)
    flow.logout()
    at = NOW + timedelta(minutes=5)
    app.config["CLOCK"] = lambda: at
    flow.password("alice")
    response = flow.signin_totp(code(secret, at + timedelta(seconds=offset)))
    assert (response.status_code == 302) is accepted


def test_a_code_works_once(app, flow, alice, fixed_clock):
    flow.password("alice")
    secret = enable_totp(flow)
    flow.logout()
    at = NOW + timedelta(minutes=5)
    app.config["CLOCK"] = lambda: at
    flow.password("alice")
    assert flow.signin_totp(code(secret, at)).status_code == 302
    flow.logout()
    flow.password("alice")
    response = flow.signin_totp(code(secret, at))
    assert response.status_code == 400
    assert "already used" in response.get_data(as_text=True)
    # An older (but in-window) code is refused too: steps only move forward.
    assert flow.signin_totp(code(secret, at - timedelta(seconds=30))).status_code == 400
    # The next step is fine.
    assert flow.signin_totp(code(secret, at + timedelta(seconds=30))).status_code == 302


@pytest.mark.parametrize("bad", ["000000", "12345", "abcdef", "1234567", ""])
def test_wrong_codes_are_refused(app, flow, alice, fixed_clock, bad):
    flow.password("alice")
    secret = enable_totp(flow)
    flow.logout()
    flow.password("alice")
    if bad == "000000" and code(secret, NOW + timedelta(seconds=30)) == bad:
        pytest.skip("the random secret produced 000000")
    response = flow.signin_totp(bad)
    assert response.status_code == 400
    assert flow.signed_in_as() is None


def test_codes_with_spaces_are_accepted(app, flow, alice, fixed_clock):
    flow.password("alice")
    secret = enable_totp(flow)
    flow.logout()
    at = NOW + timedelta(minutes=1)
    app.config["CLOCK"] = lambda: at
    flow.password("alice")
    value = code(secret, at)
    assert flow.signin_totp(f"{value[:3]} {value[3:]}").status_code == 302


def test_removing_totp_needs_the_password_and_keeps_first_enabled(
    app, flow, alice, fixed_clock, outbox
):
    flow.password("alice")
    enable_totp(flow)
    token = flow.token("/account/security")
    response = flow.client.post(
        "/account/security/totp/remove", data={"csrf_token": token, "totp-password": "nope"}
    )
    assert response.status_code == 400
    assert reload_user(app, "alice").totp_secret is not None
    response = flow.client.post(
        "/account/security/totp/remove",
        data={"csrf_token": token, "totp-password": "a-long-test-passphrase"},
    )
    assert response.status_code == 302
    user = reload_user(app, "alice")
    assert user.totp_secret is None
    assert user.first_2fa_enabled_at == NOW
    assert events_of(app, "2fa:totp_removed")
    assert any("was removed" in m["Subject"] for m in outbox.to("alice@example.org"))
    with app.app_context():
        assert not status.has_2fa(user)
    # Signing in asks for the password only again.
    flow.logout()
    assert flow.password("alice").headers["Location"] == "/account/"
