"""Recovery codes: shown once, hashed, single-use, replaced as a set."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from giveaway import db
from giveaway.twofactor import keys, status
from giveaway.twofactor.models import RecoveryCode
from tests.factories import events_of, reload_user


@pytest.fixture
def alice_with_key(app, flow, alice, authenticator):
    flow.password("alice")
    assert flow.register_key(authenticator, "Main key").status_code == 200
    return authenticator


def create_codes(flow, password: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    token = flow.token("/account/security/recovery-codes")
    data = {"csrf_token": token}
    if password is not None:
        data["password"] = password
    response = flow.client.post("/account/security/recovery-codes", data=data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return re.findall(r"<li><code>([a-z2-7-]+)</code></li>", response.get_data(as_text=True))


def test_codes_need_a_method_first(app, flow, alice):
    flow.password("alice")
    page = flow.client.get("/account/security/recovery-codes").get_data(as_text=True)
    assert "Add a security key or an authenticator app first" in page
    token = flow.token("/account/security/recovery-codes")
    response = flow.client.post("/account/security/recovery-codes", data={"csrf_token": token})
    assert response.status_code == 400


def test_codes_are_shown_once_and_stored_hashed(app, flow, alice_with_key, outbox):
    codes = create_codes(flow)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", c) for c in codes)
    with app.app_context():
        stored = list(db.session().scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10
    assert not any(c.replace("-", "") in h for c in codes for h in stored)
    page = flow.client.get("/account/security/recovery-codes").get_data(as_text=True)
    assert codes[0] not in page
    assert "10</strong> unused codes" in page
    assert events_of(app, "2fa:recovery_codes_generated")


def test_a_code_signs_in_once(app, flow, alice_with_key, outbox):
    codes = create_codes(flow)
    flow.logout()
    outbox.clear()
    flow.password("alice")
    page = flow.client.get("/account/login/2fa").get_data(as_text=True)
    assert "Use a recovery code" in page
    response = flow.signin_recovery(codes[0].upper().replace("-", " "))
    assert response.status_code == 302
    assert flow.signed_in_as() == "alice"
    [event] = events_of(app, "2fa:recovery_code_used")
    assert event.detail == {"left": 9}
    [message] = outbox.to("alice@example.org")
    assert "recovery code" in message["Subject"]
    assert [e for e in events_of(app, "login:success") if e.detail["method"] == "recovery_code"]

    flow.logout()
    flow.password("alice")
    response = flow.signin_recovery(codes[0])
    assert response.status_code == 400
    assert "already used" in response.get_data(as_text=True)
    assert flow.signed_in_as() is None
    assert flow.signin_recovery("not-a-code").status_code == 400


def test_regenerating_needs_the_password_and_voids_old_codes(app, flow, alice_with_key):
    old = create_codes(flow)
    token = flow.token("/account/security/recovery-codes")
    response = flow.client.post("/account/security/recovery-codes", data={"csrf_token": token})
    assert response.status_code == 400
    assert "Enter your password" in response.get_data(as_text=True)
    response = flow.client.post(
        "/account/security/recovery-codes", data={"csrf_token": token, "password": "wrong"}
    )
    assert response.status_code == 400
    new = create_codes(flow, password="a-long-test-passphrase")
    assert not set(old) & set(new)
    flow.logout()
    flow.password("alice")
    assert flow.signin_recovery(old[1]).status_code == 400
    assert flow.signin_recovery(new[1]).status_code == 302


def test_warning_when_few_codes_remain(app, flow, alice_with_key):
    codes = create_codes(flow)
    for code in codes[:7]:
        flow.logout()
        flow.password("alice")
        assert flow.signin_recovery(code).status_code == 302
    page = flow.client.get("/account/security").get_data(as_text=True)
    assert "Only 3 left" not in page
    flow.logout()
    flow.password("alice")
    response = flow.signin_recovery(codes[7])
    # Few left: the sign-in lands on the security page with a warning.
    assert response.headers["Location"] == "/account/security"
    page = flow.client.get("/account/security").get_data(as_text=True)
    assert "Only 2 left" in page
    assert "used a recovery code; 2 left" in page
    for code in codes[8:]:
        flow.logout()
        flow.password("alice")
        flow.signin_recovery(code)
    page = flow.client.get("/account/security").get_data(as_text=True)
    assert "You have used all your recovery codes" in page
    with app.app_context():
        assert not status.has_recovery_codes(db.session(), reload_user(app, "alice"))


def test_removing_the_last_method_drops_the_codes(app, flow, alice_with_key):
    create_codes(flow)
    user = reload_user(app, "alice")
    with app.app_context():
        [key] = keys.registered(db.session(), user)
        key_id = key.id
    token = flow.token("/account/security")
    flow.client.post(
        f"/account/security/webauthn/{key_id}/remove",
        data={"csrf_token": token, f"key{key_id}-password": "a-long-test-passphrase"},
    )
    with app.app_context():
        assert status.recovery_codes_left(db.session(), user) == 0
    assert reload_user(app, "alice").first_2fa_enabled_at is not None
