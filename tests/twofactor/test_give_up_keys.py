"""Turning on 2FA while the free keys are still within reach needs the maintainer's
explicit word that they give them up: the server refuses without it (4xx, a clear
message, nothing written), for the authenticator app and for a security key, on SQLite
and PostgreSQL; the service functions refuse too, whoever calls them."""

from __future__ import annotations

import json
import re

import pyotp
import pytest
from sqlalchemy import func, select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.events.models import Event
from giveaway.twofactor import changes, keys, totp
from giveaway.twofactor.models import WebAuthnCredential
from tests.conftest import AuthActions, csrf_token, outbox_for, post_form
from tests.factories import (
    authenticator_for,
    claim_for,
    clock_now,
    make_batch,
    make_maintainer,
    make_user,
    reload_user,
)

pytestmark = pytest.mark.config(
    WEBAUTHN_RP_ID="localhost",
    WEBAUTHN_ORIGIN="http://localhost",
    RATELIMIT_TWOFACTOR="1000/minute",
    RATELIMIT_LOGIN="1000/minute",
)

REFUSED = "Claim them first, or tick the box to confirm that you give them up."


def _nothing_written(app, username):  # type: ignore[no-untyped-def]
    user = reload_user(app, username)
    assert user is not None
    assert user.totp_secret is None and user.first_2fa_enabled_at is None
    with app.app_context():
        session = db.session()
        assert not session.scalar(select(func.count()).select_from(WebAuthnCredential))
        kinds = set(session.scalars(select(Event.kind).where(Event.user_id == user.id)))
    assert not {k for k in kinds if k.startswith("2fa:")}
    assert not outbox_for(app).to(f"{username}@example.org")


def _signed_in(app, username):  # type: ignore[no-untyped-def]
    client = app.test_client()
    AuthActions(client).login(username)
    return client


def _totp_secret(client):  # type: ignore[no-untyped-def]
    page = client.get("/account/security/totp").get_data(as_text=True)
    found = re.search(r"\b([A-Z2-7]{32})\b", page.replace(" ", ""))
    assert found
    return found.group(1)


def test_totp_needs_the_confirmation_while_the_keys_are_at_stake(any_app):  # type: ignore[no-untyped-def]
    make_batch(any_app, count=2)
    make_maintainer(any_app, "maria")
    client = _signed_in(any_app, "maria")
    page = client.get("/account/security/totp").get_data(as_text=True)
    # Said first, before the steps of the set-up, with the way to claim.
    assert page.index("Claim your free security keys first") < page.index("Scan this QR code")
    assert 'href="/giveaway"' in page and 'name="give_up_keys"' in page
    secret = _totp_secret(client)

    response = post_form(client, "/account/security/totp", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
    _nothing_written(any_app, "maria")

    response = post_form(
        client,
        "/account/security/totp",
        {"code": pyotp.TOTP(secret).now(), "give_up_keys": "y"},
    )
    assert response.status_code == 302
    user = reload_user(any_app, "maria")
    assert user is not None and user.totp_secret == secret
    assert user.first_2fa_enabled_at is not None


def test_a_security_key_needs_the_confirmation_while_the_keys_are_at_stake(any_app):  # type: ignore[no-untyped-def]
    make_batch(any_app, count=2)
    make_maintainer(any_app, "maria")
    client = _signed_in(any_app, "maria")
    page = client.get("/account/security").get_data(as_text=True)
    assert page.index("Claim your free security keys first") < page.index("Add a security key")
    assert "data-webauthn-give-up" in page
    key = authenticator_for(any_app)

    def post(body):  # type: ignore[no-untyped-def]
        token = csrf_token(client, "/account/security")
        return client.post(
            "/account/security/webauthn/register", json=body, headers={"X-CSRFToken": token}
        )

    token = csrf_token(client, "/account/security")
    options = client.post(
        "/account/security/webauthn/options", json={}, headers={"X-CSRFToken": token}
    ).get_json()
    credential = key.create(options)
    for refused in ({}, {"give_up_keys": False}, {"give_up_keys": "yes"}):
        response = post({"label": "USB key", "credential": credential, **refused})
        assert response.status_code == 400
        assert response.get_json()["field"] == "give_up_keys"
        assert REFUSED in response.get_json()["error"]
        _nothing_written(any_app, "maria")

    # The refusal kept the challenge: the same answer, now confirmed, is accepted.
    response = post({"label": "USB key", "credential": credential, "give_up_keys": True})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ok"] is True
    with any_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(WebAuthnCredential)) == 1


def test_the_services_refuse_too(any_app):  # type: ignore[no-untyped-def]
    """Whoever turns a method on (a page, a command, a script): the same rule."""
    make_batch(any_app, count=2)
    maria = make_maintainer(any_app, "maria")
    key = authenticator_for(any_app)
    with any_app.app_context():
        session = db.session()
        user = session.get(User, maria.id)
        assert changes.keys_at_stake(session, user)
        secret = totp.new_secret()
        with pytest.raises(changes.TwoFactorError) as refused:
            totp.enable_totp(session, user, secret, totp.code_at(secret, user.created_at))
        assert refused.value.field == "give_up_keys"
        options, challenge = keys.registration_options(session, user)
        with pytest.raises(changes.TwoFactorError):
            keys.add_key(session, user, "USB key", key.create(json.loads(options)), challenge)
        session.rollback()
    _nothing_written(any_app, "maria")


@pytest.mark.parametrize("who", ["claimed", "not-critical"])
def test_no_confirmation_when_nothing_is_at_stake(app, who):  # type: ignore[no-untyped-def]
    if who == "claimed":
        make_maintainer(app, who)
        claim_for(app, make_batch(app, count=2), reload_user(app, who), clock_now(app))
    else:
        make_user(app, who)
    client = _signed_in(app, who)
    for path in ("/account/security", "/account/security/totp"):
        page = client.get(path).get_data(as_text=True)
        assert "Claim your free security keys first" not in page
        assert "give_up_keys" not in page and "data-webauthn-give-up" not in page
    secret = _totp_secret(client)
    response = post_form(client, "/account/security/totp", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
