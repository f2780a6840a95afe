"""Recovery codes: shown once, hashed, single-use, replaced as a set."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from giveaway import db
from giveaway.twofactor import keys, recovery, status
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


# --- keeping the codes: download, print, copy, and one typed back -------------------------


def test_new_codes_can_be_downloaded_printed_and_copied(app, flow, alice_with_key):
    token = flow.token("/account/security/recovery-codes")
    response = flow.client.post("/account/security/recovery-codes", data={"csrf_token": token})
    html = response.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", html)
    assert response.headers["Cache-Control"] == "no-store"
    # The download works without JavaScript: the file is in the link itself.
    link = re.search(r'href="data:text/plain;charset=utf-8,([^"]+)" download="([^"]+)"', html)
    assert link, html
    assert link.group(2) == "security-key-giveaway-alice-recovery-codes.txt"
    text = unquote(link.group(1))
    assert "recovery codes for alice" in text
    assert all(f"\n{code}\n" in text for code in codes)
    assert "data-print" in html and "Copy all codes" in html
    assert "data-copy-lines" in html and "js/copy.js" in html
    # "I have saved them" is no longer a link: one code must be typed back.
    assert "I have saved them" not in html
    assert 'action="/account/security/recovery-codes/confirm"' in html


def test_the_codes_count_as_saved_only_once_one_is_typed_back(app, flow, alice_with_key):
    codes = create_codes(flow)
    user = reload_user(app, "alice")
    with app.app_context():
        assert not status.recovery_codes_saved(db.session(), user)
    page = flow.client.get("/account/security/recovery-codes").get_data(as_text=True)
    assert "You have not confirmed that you saved them yet" in page

    token = flow.token("/account/security/recovery-codes/confirm")
    wrong = flow.client.post(
        "/account/security/recovery-codes/confirm",
        data={"csrf_token": token, "code": "aaaa-bbbb-cccc-dddd"},
    )
    assert wrong.status_code == 400
    assert "That is not one of your unused recovery codes" in wrong.get_data(as_text=True)
    with app.app_context():
        assert not status.recovery_codes_saved(db.session(), user)

    right = flow.client.post(
        "/account/security/recovery-codes/confirm?next=/giveaway/setup",
        data={"csrf_token": token, "code": codes[3].upper()},
    )
    assert right.status_code == 303
    assert right.headers["Location"] == "/giveaway/setup"
    with app.app_context():
        assert status.recovery_codes_saved(db.session(), user)
        assert status.recovery_codes_left(db.session(), user) == 10  # not used up
    assert events_of(app, "2fa:recovery_codes_confirmed")
    page = flow.client.get("/account/security/recovery-codes").get_data(as_text=True)
    assert "You typed one of them back" in page


def test_a_new_set_must_be_confirmed_again(app, flow, alice_with_key):
    old = create_codes(flow)
    with app.app_context():
        assert recovery.confirm_saved(db.session(), reload_user(app, "alice"), old[0])
        db.session().commit()
    new = create_codes(flow, password="a-long-test-passphrase")
    user = reload_user(app, "alice")
    with app.app_context():
        assert not status.recovery_codes_saved(db.session(), user)
        assert not recovery.confirm_saved(db.session(), user, old[0])
        assert not recovery.confirm_saved(db.session(), user, "short")
        assert recovery.confirm_saved(db.session(), user, new[0])


def test_a_used_code_cannot_confirm_the_set(app, flow, alice_with_key):
    codes = create_codes(flow)
    flow.logout()
    flow.password("alice")
    assert flow.signin_recovery(codes[0]).status_code == 302
    token = flow.token("/account/security/recovery-codes/confirm")
    response = flow.client.post(
        "/account/security/recovery-codes/confirm", data={"csrf_token": token, "code": codes[0]}
    )
    assert response.status_code == 400


def test_confirming_without_codes_leads_to_making_them(app, flow, alice):
    flow.password("alice")
    response = flow.client.get("/account/security/recovery-codes/confirm")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security/recovery-codes"
