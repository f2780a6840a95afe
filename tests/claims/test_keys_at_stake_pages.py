"""Every page that offers 2FA says first, while the maintainer could still claim the
free keys, that turning it on now gives them up, and sends them to claim; the
walkthrough tells each state what is true for it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import AuthActions, post_form
from tests.factories import (
    add_keys,
    clock_now,
    enable_totp,
    make_batch,
    make_maintainer,
    make_user,
    reload_user,
)

AT_STAKE = "Claim your free security keys first"
NO_CODE = "no promo code"


def _client(app, username):  # type: ignore[no-untyped-def]
    client = app.test_client()
    AuthActions(client).login(username)
    return client


def _text(client, path):  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_a_maintainer_who_can_claim_is_told_first_on_every_page(app):  # type: ignore[no-untyped-def]
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    client = _client(app, "maria")
    offers = {
        "/account/": "Two-factor authentication</h2>",
        "/account/security": "Add a security key",
        "/account/security/totp": "Scan this QR code",
        "/giveaway/setup": "Set up an authenticator app instead",
    }
    for path, offer in offers.items():
        html = _text(client, path)
        assert AT_STAKE in html, path
        assert html.index(AT_STAKE) < html.index(offer), path
        assert 'href="/giveaway"' in html, path


def test_the_walkthrough_tells_a_maintainer_who_can_claim_to_claim(app):  # type: ignore[no-untyped-def]
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    html = _text(_client(app, "maria"), "/giveaway/setup")
    assert NO_CODE not in html
    assert "codes went only to maintainers" not in html
    assert "a code for two free security keys is yours to claim" in html
    # The key boxes wait for the keys; the only key offer is the confirmed app set-up.
    assert "data-webauthn" not in html


def test_the_walkthrough_before_the_giveaway_opens(app):  # type: ignore[no-untyped-def]
    opens = clock_now(app) + timedelta(days=3)
    app.config["GIVEAWAY_OPENS_AT"] = opens.isoformat()
    make_maintainer(app, "maria")
    html = _text(_client(app, "maria"), "/giveaway/setup")
    assert f"The giveaway opens on {opens:%Y-%m-%d %H:%M} UTC" in html
    assert AT_STAKE in html


def test_the_walkthrough_with_an_empty_pool(app):  # type: ignore[no-untyped-def]
    make_maintainer(app, "maria")
    html = _text(_client(app, "maria"), "/giveaway/setup")
    assert "every code is claimed for now" in html
    assert AT_STAKE in html


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("had-2fa", "Your account has had two-factor authentication"),
        ("no-project", "None of the projects you are an Owner or Maintainer of"),
    ],
)
def test_the_walkthrough_says_why_the_keys_are_not_for_others(app, who, reason):  # type: ignore[no-untyped-def]
    make_batch(app, count=2)
    user = make_maintainer(app, who) if who == "had-2fa" else make_user(app, who)
    client = _client(app, who)
    if who == "had-2fa":
        enable_totp(app, user)
    html = _text(client, "/giveaway/setup")
    assert "The free keys are not for this account: " + reason in html
    assert AT_STAKE not in html and "give_up_keys" not in html


def test_the_country_box_says_the_keys_are_still_theirs(app):  # type: ignore[no-untyped-def]
    app.config["ELIGIBLE_REGIONS"] = ["US", "DE"]
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    client = _client(app, "maria")
    response = post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    html = response.get_data(as_text=True)
    box = html[html.index('id="other-regions"') :]
    assert "We cannot ship keys to that country" in box
    assert box.index("Your free keys are still yours to claim") < box.index(
        "Set up two-factor authentication without the keys"
    )
    assert "gives the keys up for good" in box


def test_the_mandate_banner_sends_a_maintainer_who_can_claim_to_claim(app):  # type: ignore[no-untyped-def]
    app.config["MANDATE_2FA"] = "critical"
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    html = _text(_client(app, "maria"), "/account/")
    assert "Two-factor authentication is required" in html
    banner = html[html.index("Two-factor authentication is required") :]
    assert banner.index("see first whether free security keys are yours to claim") < banner.index(
        "<main"
    )
    assert "turning it on gives them up" in banner


def test_nothing_at_stake_once_the_code_is_claimed(app):  # type: ignore[no-untyped-def]
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    client = _client(app, "maria")
    post_form(client, "/giveaway/claim", {"region": "US"}, page="/giveaway")
    user = reload_user(app, "maria")
    assert user is not None
    for path in ("/account/", "/account/security", "/giveaway/setup"):
        assert AT_STAKE not in _text(client, path), path
    add_keys(app, user, 2)
    assert AT_STAKE not in _text(client, "/account/security/totp")
