"""The account page shows what is true now: protected (with which methods) or not, and
the one thing to do next, from the 2FA methods and the set-up walkthrough."""

from __future__ import annotations

import re

from tests.conftest import AuthActions
from tests.factories import (
    add_key,
    add_keys,
    add_recovery_codes,
    claim_for,
    clock_now,
    enable_totp,
    make_batch,
    make_maintainer,
    make_user,
)


def _signed_in(app, username):  # type: ignore[no-untyped-def]
    """Signed in with the password, before any second factor is set up."""
    client = app.test_client()
    AuthActions(client).login(username)
    return client


def _account(client):  # type: ignore[no-untyped-def]
    html = client.get("/account/").get_data(as_text=True)
    main = html[html.index("<main") : html.index("</main>")]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def test_two_keys_and_recovery_codes_read_as_protected(app):  # type: ignore[no-untyped-def]
    maria = make_maintainer(app, "maria")
    client = _signed_in(app, "maria")
    claim_for(app, make_batch(app, count=2), maria, clock_now(app))
    add_key(app, maria, "first", used=True)
    add_key(app, maria, "spare")
    add_recovery_codes(app, maria, 8)
    text = _account(client)
    assert "Protected Signing in asks for a second factor after your password." in text
    assert "You have 2 security keys and 8 recovery codes left." in text
    assert "Nothing is left to set up." in text
    for stale in (
        "Protect your account with a security key",
        "Set it up step by step",
        "See whether you can get free security keys",
        "Claim your free security keys first",
    ):
        assert stale not in text


def test_a_maintainer_who_can_claim_is_sent_to_claim(app):  # type: ignore[no-untyped-def]
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    text = _account(_signed_in(app, "maria"))
    assert text.index("Claim your free security keys first") < text.index("Details")
    assert "Not protected yet Signing in asks only for your password." in text
    assert "Set it up step by step" not in text


def test_a_claimed_code_and_keys_not_arrived(app):  # type: ignore[no-untyped-def]
    maria = make_maintainer(app, "maria")
    claim_for(app, make_batch(app, count=2), maria, clock_now(app))
    text = _account(_signed_in(app, "maria"))
    assert "You claimed your promo code on" in text
    assert "Once the keys arrive, register them on your account." in text
    assert "Next: Order your keys with the code" in text


def test_keys_registered_but_no_sign_in_with_one_yet(app):  # type: ignore[no-untyped-def]
    maria = make_maintainer(app, "maria")
    client = _signed_in(app, "maria")
    claim_for(app, make_batch(app, count=2), maria, clock_now(app))
    add_keys(app, maria, 2)
    add_recovery_codes(app, maria)
    text = _account(client)
    assert "You have 2 security keys" in text
    assert "Next: Sign in once with a key" in text
    assert "Continue the set-up steps" in text


def test_one_key_of_ones_own_suggests_a_spare(app):  # type: ignore[no-untyped-def]
    olga = make_user(app, "olga")
    client = _signed_in(app, "olga")
    add_key(app, olga, "mine")
    add_recovery_codes(app, olga)
    text = _account(client)
    assert "You have 1 security key and 10 recovery codes left." in text
    assert "Next: Register a spare key" in text


def test_an_authenticator_app_without_recovery_codes(app):  # type: ignore[no-untyped-def]
    olga = make_user(app, "olga")
    client = _signed_in(app, "olga")
    enable_totp(app, olga)
    text = _account(client)
    assert "You have an authenticator app." in text
    assert "Next: Save your recovery codes" in text


def test_nothing_yet_and_no_giveaway(app):  # type: ignore[no-untyped-def]
    make_user(app, "olga")
    text = _account(_signed_in(app, "olga"))
    assert "Not protected yet" in text
    assert "Next: Add a second factor" in text and "Continue the set-up steps" in text
