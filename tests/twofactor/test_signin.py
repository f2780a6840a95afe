"""The second step of sign-in: security keys, expiry, replay, rate limits, next."""

from __future__ import annotations

from datetime import timedelta

import pytest

from giveaway import clock, db
from giveaway.twofactor import keys
from tests.conftest import csrf_token
from tests.factories import events_of, make_user, reload_user
from tests.twofactor.authenticator import SoftwareAuthenticator
from tests.twofactor.conftest import ORIGIN


@pytest.fixture
def alice_with_key(app, flow, alice, authenticator):
    flow.password("alice")
    assert flow.register_key(authenticator, "Main key").status_code == 200
    flow.logout()
    return authenticator


def test_without_2fa_the_password_signs_in(app, flow, alice):
    response = flow.password("alice")
    assert response.headers["Location"] == "/account/"
    assert flow.signed_in_as() == "alice"


def test_pending_sign_in_is_not_signed_in(app, flow, alice_with_key):
    flow.password("alice")
    assert flow.client.get("/account/security").status_code == 302
    page = flow.client.get("/account/login/2fa").get_data(as_text=True)
    assert "Use my security key" in page
    assert "Authenticator app" not in page
    # Nothing about the pending user leaks into a signed-in page.
    assert flow.signed_in_as() is None


def test_next_is_kept_and_checked(app, flow, alice_with_key):
    flow.password("alice", next_url="/account/security")
    response = flow.signin_with_key(alice_with_key)
    assert response.get_json()["redirect"] == "/account/security"
    flow.logout()
    flow.password("alice", next_url="https://evil.example/")
    response = flow.signin_with_key(alice_with_key)
    assert response.get_json()["redirect"] == "/account/"


def test_session_is_renewed_after_the_second_factor(app, flow, alice_with_key):
    flow.password("alice")
    with flow.client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        assert "twofactor.pending" in sess
    flow.signin_with_key(alice_with_key)
    with flow.client.session_transaction() as sess:
        assert "planted" not in sess
        assert "twofactor.pending" not in sess
        assert "_user_id" in sess
    [event] = [e for e in events_of(app, "login:success") if e.detail.get("method") == "webauthn"]
    assert event.detail == {"method": "webauthn"}


def test_another_users_key_is_refused(app, flow, alice_with_key):
    make_user(app, "bob")
    bob_key = SoftwareAuthenticator(ORIGIN)
    flow.password("bob")
    assert flow.register_key(bob_key, "Bob's key").status_code == 200
    flow.logout()

    flow.password("alice")
    options = flow.signin_options().get_json()
    # Bob's key signs alice's challenge.
    answer = bob_key.get(options, credential=bob_key.credentials[0])
    response = flow.signin_answer(answer)
    assert response.status_code == 400
    assert (
        "This security key is not registered to this account. Try another of your keys"
        in response.get_json()["error"]
    )
    assert flow.signed_in_as() is None
    assert events_of(app, "login:2fa_failure")


def test_sign_count_going_backwards_is_refused_and_recorded(app, flow, alice_with_key):
    flow.password("alice")
    assert flow.signin_with_key(alice_with_key).status_code == 200  # count 1
    flow.logout()
    flow.password("alice")
    assert flow.signin_with_key(alice_with_key).status_code == 200  # count 2
    flow.logout()
    flow.password("alice")
    response = flow.signin_with_key(alice_with_key, sign_count=1)  # a clone, behind
    assert response.status_code == 400
    assert "counter went backwards" in response.get_json()["error"]
    assert flow.signed_in_as() is None
    [event] = events_of(app, "2fa:sign_count_regression")
    assert event.detail["stored"] == 2 and event.detail["received"] == 1


def test_a_key_without_a_counter_is_fine(app, flow, alice):
    zero = SoftwareAuthenticator(ORIGIN, counter_step=0)
    flow.password("alice")
    flow.register_key(zero, "No counter")
    for _ in range(2):
        flow.logout()
        flow.password("alice")
        assert flow.signin_with_key(zero).status_code == 200


def test_signin_challenge_cannot_be_replayed(app, flow, alice_with_key):
    flow.password("alice")
    options = flow.signin_options().get_json()
    answer = alice_with_key.get(options)
    saved_cookie = flow.client.get_cookie("session").value
    assert flow.signin_answer(answer).status_code == 200
    flow.logout()

    # Same session: the challenge was popped.
    flow.password("alice")
    response = flow.signin_answer(answer)
    assert response.status_code == 400
    assert "already been answered" in response.get_json()["error"]

    # An old session cookie that still holds the challenge: refused, as its
    # pending step was spent by the sign-in (and the challenge by the database).
    flow.client.set_cookie("session", saved_cookie, domain="localhost")
    token = csrf_token(flow.client, "/account/login")  # the old session's token
    response = flow.client.post(
        "/account/login/2fa/webauthn", json={"credential": answer}, headers={"X-CSRFToken": token}
    )
    assert response.status_code in (400, 401), response.status_code
    assert flow.signed_in_as() is None


def test_wrong_origin_and_rp_id_at_sign_in(app, flow, alice_with_key):
    flow.password("alice")
    options = flow.signin_options().get_json()
    response = flow.signin_answer(alice_with_key.get(options, origin="https://evil.example"))
    assert response.status_code == 400
    assert "not for this site" in response.get_json()["error"]
    options = flow.signin_options().get_json()
    response = flow.signin_answer(alice_with_key.get(options, rp_id="evil.example"))
    assert response.status_code == 400
    assert "another site" in response.get_json()["error"]


def test_expired_pending_sign_in_goes_back_to_the_password(app, flow, alice_with_key):
    start = clock.now()
    app.config["CLOCK"] = lambda: start
    flow.password("alice")
    app.config["CLOCK"] = lambda: start + timedelta(seconds=301)
    response = flow.client.get("/account/login/2fa")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    page = flow.client.get("/account/login").get_data(as_text=True)
    assert "took too long" in page

    app.config["CLOCK"] = lambda: start
    flow.password("alice")
    options = flow.signin_options().get_json()
    token = flow.token("/account/login/2fa")
    app.config["CLOCK"] = lambda: start + timedelta(seconds=301)
    response = flow.client.post(
        "/account/login/2fa/webauthn",
        json={"credential": alice_with_key.get(options)},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 401
    assert response.get_json()["redirect"] == "/account/login"
    assert flow.signed_in_as() is None


def test_password_change_voids_a_pending_sign_in(app, flow, alice_with_key):
    flow.password("alice")
    with app.app_context():
        user = db.session().get(type(reload_user(app, "alice")), reload_user(app, "alice").id)
        user.session_version += 1
        db.session().commit()
    assert flow.client.get("/account/login/2fa").status_code == 302


@pytest.mark.config(RATELIMIT_TWOFACTOR="3/minute")
def test_second_step_is_rate_limited(app, flow, alice):
    with app.app_context():
        user = db.session().get(type(reload_user(app, "alice")), reload_user(app, "alice").id)
        user.totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        db.session().commit()
    flow.password("alice")
    # Fetching options (pages do it on load) is not an attempt.
    for _ in range(4):
        assert flow.client.get("/account/login/2fa").status_code == 200
    statuses = [flow.signin_totp("000000").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    # Per user: another address does not get more tries for alice.
    token = flow.token("/account/login/2fa")
    response = flow.client.post(
        "/account/login/2fa/recovery",
        data={"csrf_token": token, "recovery_code": "x"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 429


def test_password_reset_link_does_not_skip_the_second_factor(app, flow, alice_with_key, outbox):
    from giveaway.accounts import service as accounts

    with app.app_context():
        accounts.request_password_reset(db.session(), "alice")
        db.commit()
    link = outbox.links(outbox.to("alice@example.org")[-1])[0]
    path = link.removeprefix("http://localhost")
    token = flow.token(path)
    response = flow.client.post(
        path,
        data={
            "csrf_token": token,
            "password": "another-long-passphrase",
            "password_confirm": "another-long-passphrase",
        },
    )
    assert response.headers["Location"] == "/account/login/2fa"
    assert flow.signed_in_as() is None
    assert flow.signin_with_key(alice_with_key).status_code == 200
    assert flow.signed_in_as() == "alice"


def test_has_signed_in_with_key(app, flow, alice_with_key):
    user = reload_user(app, "alice")
    with app.app_context():
        assert not keys.has_signed_in_with_key(db.session(), user)
    flow.password("alice")
    flow.signin_with_key(alice_with_key)
    with app.app_context():
        assert keys.has_signed_in_with_key(db.session(), user)
