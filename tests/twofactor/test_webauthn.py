"""Security keys through the Flask test client, with a software authenticator."""

from __future__ import annotations

import pytest

from giveaway import db
from giveaway.twofactor import keys, status
from tests.factories import events_of, make_user, reload_user
from tests.twofactor.authenticator import InvalidStateError, SoftwareAuthenticator, b64u
from tests.twofactor.conftest import ORIGIN


def test_register_two_keys_and_sign_in_with_each(app, flow, alice, outbox):
    flow.password("alice")
    first, second = SoftwareAuthenticator(ORIGIN), SoftwareAuthenticator(ORIGIN)
    response = flow.register_key(first, "USB-A key")
    assert response.status_code == 200, response.get_json()
    # The first method leads on to recovery codes.
    assert response.get_json()["redirect"] == "/account/security/recovery-codes"
    response = flow.register_key(second, "USB-C key")
    assert response.get_json()["redirect"] == "/account/security"

    page = flow.client.get("/account/security").get_data(as_text=True)
    assert "USB-A key" in page and "USB-C key" in page

    user = reload_user(app, "alice")
    assert user.first_2fa_enabled_at is not None
    assert user.webauthn_user_handle and len(user.webauthn_user_handle) == 32
    with app.app_context():
        stored = keys.registered(db.session(), user)
        assert [k.label for k in stored] == ["USB-A key", "USB-C key"]
        assert stored[0].transports == ["usb"]
        assert stored[0].aaguid == "00000000-0000-0000-0000-000000000000"
        assert stored[0].backup_eligible is False and stored[0].backup_state is False
        assert not keys.has_signed_in_with_key(db.session(), user)
    assert len(events_of(app, "2fa:key_added")) == 2
    subjects = [m["Subject"] for m in outbox.to("alice@example.org")]
    assert sum("was added" in s for s in subjects) == 2

    for auth in (first, second):
        flow.logout()
        response = flow.password("alice")
        assert response.status_code == 302
        assert response.headers["Location"] == "/account/login/2fa"
        assert flow.signed_in_as() is None  # not signed in before the second factor
        response = flow.signin_with_key(auth)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["redirect"] == "/account/"
        assert flow.signed_in_as() == "alice"
    with app.app_context():
        assert keys.has_signed_in_with_key(db.session(), user)
        assert all(k.last_used_at for k in keys.registered(db.session(), user))


def test_user_handle_is_random_not_the_username(app, flow, alice, authenticator):
    flow.password("alice")
    options = flow.register_options().get_json()
    handle = options["user"]["id"]
    assert "alice" not in handle
    assert options["rp"] == {"id": "localhost", "name": "Security Key Giveaway"}
    assert options["attestation"] == "none"
    selection = options["authenticatorSelection"]
    assert selection["authenticatorAttachment"] == "cross-platform"
    assert selection["residentKey"] == "discouraged"
    assert selection["userVerification"] == "discouraged"
    # The same handle every time.
    assert flow.register_options().get_json()["user"]["id"] == handle


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("", "Give the key a name"),
        ("   ", "Give the key a name"),
        ("x" * 65, "at most 64 characters"),
    ],
)
def test_label_rules(app, flow, alice, authenticator, label, message):
    flow.password("alice")
    response = flow.register_key(authenticator, label)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert response.get_json()["field"] == "label"
    with app.app_context():
        assert status.key_count(db.session(), reload_user(app, "alice")) == 0


def test_label_unique_per_user_but_not_across_users(app, flow, alice, authenticator):
    flow.password("alice")
    assert flow.register_key(authenticator, "Blue key").status_code == 200
    response = flow.register_key(SoftwareAuthenticator(ORIGIN), "blue KEY")
    assert response.status_code == 400
    assert "already have a key named" in response.get_json()["error"]
    # A 64-character name is fine.
    assert flow.register_key(SoftwareAuthenticator(ORIGIN), "y" * 64).status_code == 200

    make_user(app, "bob")
    flow.logout()
    flow.password("bob")
    assert flow.register_key(SoftwareAuthenticator(ORIGIN), "Blue key").status_code == 200


def test_existing_keys_are_excluded_and_a_second_registration_refused(
    app, flow, alice, authenticator
):
    flow.password("alice")
    assert flow.register_key(authenticator, "Mine").status_code == 200
    options = flow.register_options().get_json()
    [excluded] = options["excludeCredentials"]
    assert excluded["id"] == b64u(authenticator.credentials[0].credential_id)
    # A browser refuses at once: the key already holds an excluded credential.
    with pytest.raises(InvalidStateError):
        authenticator.create(options)
    # A client that ignores the exclusion list gets a clear answer from the server.
    again = authenticator.attest(authenticator.credentials[0], options["challenge"])
    response = flow.register_answer("Mine again", again)
    assert response.status_code == 400
    assert "already registered to your account" in response.get_json()["error"]


def test_a_key_of_another_account_cannot_be_registered(app, flow, alice, authenticator):
    flow.password("alice")
    assert flow.register_key(authenticator, "Mine").status_code == 200
    make_user(app, "mallory")
    flow.logout()
    flow.password("mallory")
    options = flow.register_options().get_json()
    stolen = authenticator.attest(authenticator.credentials[0], options["challenge"])
    response = flow.register_answer("Stolen", stolen)
    assert response.status_code == 400
    assert "cannot be registered" in response.get_json()["error"]


def test_wrong_origin_refused(app, flow, alice, authenticator):
    flow.password("alice")
    response = flow.register_key(authenticator, "Key", origin="https://evil.example")
    assert response.status_code == 400
    assert "not for this site" in response.get_json()["error"]


def test_wrong_rp_id_refused(app, flow, alice, authenticator):
    flow.password("alice")
    response = flow.register_key(authenticator, "Key", rp_id="evil.example")
    assert response.status_code == 400
    assert "another site" in response.get_json()["error"]


def test_registration_needs_a_verified_email(app, flow, authenticator):
    make_user(app, "newbie", email_verified_at=None)
    flow.password("newbie")
    page = flow.client.get("/account/security").get_data(as_text=True)
    assert "verify your email address" in page
    assert "Send the verification link again" in page
    response = flow.register_options()
    assert response.status_code == 403
    assert "verify your email" in response.get_json()["error"]


def test_registration_challenge_is_single_use(app, flow, alice, authenticator):
    flow.password("alice")
    options = flow.register_options().get_json()
    credential = authenticator.create(options)
    assert flow.register_answer("One", credential).status_code == 200
    # The same answer again, under another name: the challenge is gone.
    response = flow.register_answer("Two", credential)
    assert response.status_code == 400
    assert "already been answered or has expired" in response.get_json()["error"]


def test_registration_challenge_expires(app, flow, alice, authenticator):
    from datetime import timedelta

    from giveaway import clock

    flow.password("alice")
    start = clock.now()
    app.config["CLOCK"] = lambda: start
    credential = authenticator.create(flow.register_options().get_json())
    app.config["CLOCK"] = lambda: start + timedelta(seconds=301)
    response = flow.register_answer("Late", credential)
    assert response.status_code == 400
    assert "took too long" in response.get_json()["error"]


def test_malformed_answers_get_a_clear_4xx(app, flow, alice):
    flow.password("alice")
    flow.register_options()
    for body in ({"label": "x", "credential": "nonsense"}, {"label": "x", "credential": {}}):
        response = flow.post_json("/account/security/webauthn/register", body, "/account/security")
        assert response.status_code == 400
        assert response.get_json()["error"]
        flow.register_options()
    token = flow.token("/account/security")
    response = flow.client.post(
        "/account/security/webauthn/register",
        data="not json",
        headers={"X-CSRFToken": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_json_endpoints_need_the_csrf_token(app, flow, alice):
    flow.password("alice")
    response = flow.client.post("/account/security/webauthn/options", json={})
    assert response.status_code == 400


def test_removing_a_key_needs_the_password(app, flow, alice, authenticator, outbox):
    flow.password("alice")
    flow.register_key(authenticator, "Only key")
    user = reload_user(app, "alice")
    with app.app_context():
        [key] = keys.registered(db.session(), user)
        key_id = key.id
    path = f"/account/security/webauthn/{key_id}/remove"
    token = flow.token("/account/security")
    response = flow.client.post(
        path, data={"csrf_token": token, f"key{key_id}-password": "wrong password"}
    )
    assert response.status_code == 400
    assert "Your password is not correct" in response.get_data(as_text=True)
    with app.app_context():
        assert status.key_count(db.session(), user) == 1

    response = flow.client.post(
        path, data={"csrf_token": token, f"key{key_id}-password": "a-long-test-passphrase"}
    )
    assert response.status_code == 302
    with app.app_context():
        assert status.key_count(db.session(), user) == 0
        assert not status.has_2fa(reload_user(app, "alice"))
    # Enabled once: remembered forever.
    assert reload_user(app, "alice").first_2fa_enabled_at is not None
    assert len(events_of(app, "2fa:key_removed")) == 1
    assert any("was removed" in m["Subject"] for m in outbox.to("alice@example.org"))


def test_cannot_remove_another_users_key(app, flow, alice, authenticator):
    flow.password("alice")
    flow.register_key(authenticator, "Alice's key")
    with app.app_context():
        [key] = keys.registered(db.session(), reload_user(app, "alice"))
        key_id = key.id
    make_user(app, "mallory")
    flow.logout()
    flow.password("mallory")
    token = flow.token("/account/security")
    response = flow.client.post(
        f"/account/security/webauthn/{key_id}/remove",
        data={"csrf_token": token, f"key{key_id}-password": "a-long-test-passphrase"},
    )
    assert response.status_code == 400
    assert "no such security key" in response.get_data(as_text=True)
    with app.app_context():
        assert status.key_count(db.session(), reload_user(app, "alice")) == 1


def test_embedding_pages_choose_where_to_go_next(app, flow, alice, authenticator):
    flow.password("alice")
    options = flow.register_options().get_json()
    body = {"label": "K", "credential": authenticator.create(options), "next": "/giveaway/setup"}
    response = flow.post_json("/account/security/webauthn/register", body, "/account/security")
    assert response.get_json()["redirect"] == "/giveaway/setup"
    options = flow.register_options().get_json()
    other = SoftwareAuthenticator(ORIGIN)
    body = {"label": "L", "credential": other.create(options), "next": "https://evil.example/"}
    response = flow.post_json("/account/security/webauthn/register", body, "/account/security")
    assert response.get_json()["redirect"] == "/account/security"


def test_pages_need_no_inline_script_and_explain_javascript(app, flow, alice):
    flow.password("alice")
    response = flow.client.get("/account/security")
    html = response.get_data(as_text=True)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<script src="/static/js/webauthn.js" defer></script>' in html
    # The script, the JSON block of its words and the script that reads them.
    assert html.count("<script") == 3
    assert '<script type="application/json" id="script-messages">' in html
    assert '<script src="/static/js/messages.js"></script>' in html
    assert "<noscript>" in html and "needs JavaScript" in html
    assert 'data-options-url="/account/security/webauthn/options"' in html
    script = flow.client.get("/static/js/webauthn.js")
    assert script.status_code == 200
    script.close()
    # Linked from the account page and the navigation.
    assert 'href="/account/security"' in flow.client.get("/account/").get_data(as_text=True)
