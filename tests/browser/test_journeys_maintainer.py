"""A maintainer's journeys through the account page, the giveaway, the 2FA pages and
the walkthrough, each on a phone-sized and a laptop-sized screen, asserting what the
person is told at each turn. The first one is the trap of issue 13: a maintainer who
could claim the free keys is never led to give them up without knowing it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from tests.browser.steps import (
    add_key,
    claim,
    fits_the_screen,
    press_key_button,
    sign_in,
    sign_out,
    text_of,
    use_key,
)
from tests.factories import (
    add_recovery_codes,
    enable_totp,
    give_code,
    make_batch,
    make_maintainer,
    reload_user,
    set_clock,
)

pytestmark = pytest.mark.browser

SETUP = "/giveaway/setup"
CLAIM_FIRST = "Claim your free security keys first"
GIVES_UP = "turning it on now, with an authenticator app or with a key of your own, gives them up"


def test_a_maintainer_who_can_claim_is_warned_claims_and_registers_two_keys(  # type: ignore[no-untyped-def]
    screen, screen_keys, live_server
):
    app = live_server.app
    make_batch(app, codes=["JOURNEY-CODE-1"], vendor="KeyShop")
    make_maintainer(app, "maria")
    errors: list[str] = []
    screen.on("pageerror", lambda exc: errors.append(str(exc)))

    # The account page says first that the keys are still to claim.
    sign_in(screen, "maria")
    screen.wait_for_url("**/account/")
    account = text_of(screen)
    assert account.index(CLAIM_FIRST) < account.index("Details")
    assert GIVES_UP in account
    assert "Not protected yet Signing in asks only for your password." in account
    fits_the_screen(screen)

    # Trying an authenticator app anyway: the security page and the app's page warn first.
    screen.goto("/account/security")
    assert text_of(screen).startswith("Account security " + CLAIM_FIRST)
    screen.get_by_role("link", name="Set up an authenticator app").click()
    screen.wait_for_url("**/account/security/totp")
    assert text_of(screen).startswith("Set up an authenticator app " + CLAIM_FIRST)
    secret = screen.locator("[data-totp-secret]").inner_text().replace(" ", "")
    screen.fill("input[name=code]", pyotp.TOTP(secret).now())
    screen.get_by_role("button", name="Turn on").click()
    refused = text_of(screen)
    assert "Claim them first, or tick the box to confirm that you give them up." in refused
    assert screen.get_by_label(
        "I give up the free security keys and turn on two-factor authentication now."
    ).is_visible()
    fits_the_screen(screen)
    # ...and backs out.
    screen.get_by_role("link", name="Cancel").click()
    screen.wait_for_url("**/account/security")
    user = reload_user(app, "maria")
    assert user is not None and user.totp_secret is None and user.first_2fa_enabled_at is None

    # Claims on /giveaway and sees the code panel.
    screen.get_by_role("link", name="Claim your free keys").first.click()
    screen.wait_for_url("**/giveaway")
    claim(screen, "US")
    assert screen.text_content("#promo-code") == "JOURNEY-CODE-1"
    assert "Your code is ready." in text_of(screen)
    fits_the_screen(screen)

    # The walkthrough: the keys arrive, two are registered.
    screen.get_by_role("link", name="Set up your keys, step by step").click()
    screen.wait_for_url(f"**{SETUP}")
    assert CLAIM_FIRST not in text_of(screen)
    first = screen_keys.plug_in()
    press_key_button(screen)
    screen.locator('[data-step="second_key"][aria-current="step"]').wait_for()
    screen_keys.unplug(first)
    screen_keys.plug_in()
    press_key_button(screen)
    screen.locator('[data-step="recovery_codes"][aria-current="step"]').wait_for()
    fits_the_screen(screen)

    # The account page now says what is true.
    screen.goto("/account/")
    account = text_of(screen)
    assert "Protected Signing in asks for a second factor after your password." in account
    assert "You have 2 security keys." in account
    assert "Next: Save your recovery codes" in account
    assert CLAIM_FIRST not in account and "Set it up step by step" not in account
    fits_the_screen(screen)
    assert not errors, errors


def test_a_security_key_of_ones_own_needs_the_box_ticked(screen, screen_keys, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    sign_in(screen, "maria", next_url="/account/security")
    screen.wait_for_url("**/account/security")
    screen_keys.plug_in()
    screen.fill("#key-label", "My own key")
    press_key_button(screen)
    status = screen.locator("[data-webauthn-status]")
    status.filter(has_text="tick the box to confirm that you give them up").wait_for()
    assert reload_user(app, "maria").first_2fa_enabled_at is None  # type: ignore[union-attr]
    screen.get_by_label(
        "I give up the free security keys and turn on two-factor authentication now."
    ).check()
    press_key_button(screen)
    screen.wait_for_url("**/account/security/recovery-codes")
    assert reload_user(app, "maria").first_2fa_enabled_at is not None  # type: ignore[union-attr]


def test_a_maintainer_in_a_country_the_keys_cannot_reach(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    sign_in(screen, "maria")
    claim(screen, "other")
    box = text_of(screen, "#other-regions")
    assert box.startswith("We cannot ship keys to that country")
    assert "Your free keys are still yours to claim." in box
    assert "gives the keys up for good" in box
    assert "Buy a security key locally." in box and "Use an authenticator app" in box
    assert "We did not keep your answer" in box
    fits_the_screen(screen)
    screen.get_by_role("link", name="Set up two-factor authentication without the keys").click()
    screen.wait_for_url("**/account/security")
    assert text_of(screen).startswith("Account security " + CLAIM_FIRST)


def test_a_maintainer_who_already_has_2fa(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, count=2)
    maria = make_maintainer(app, "maria")
    # She turned on an authenticator app a year ago (its code of today is still unused).
    set_clock(app, datetime.now(UTC) - timedelta(days=365))
    secret = enable_totp(app, maria)
    app.config["CLOCK"] = None
    sign_in(screen, "maria", totp_secret=secret)
    screen.wait_for_url("**/account/")
    account = text_of(screen)
    assert CLAIM_FIRST not in account
    assert "You have an authenticator app." in account
    screen.goto("/giveaway")
    checks = text_of(screen, "[data-check=no_2fa]")
    assert "Your account has had two-factor authentication" in checks
    screen.goto(SETUP)
    walk = text_of(screen)
    assert "The free keys are not for this account: Your account has had two-factor" in walk
    assert CLAIM_FIRST not in walk
    fits_the_screen(screen)


def test_a_claimed_code_whose_keys_have_not_arrived(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, codes=["WAITING-CODE-9"], vendor="KeyShop")
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "WAITING-CODE-9")
    sign_in(screen, "maria")
    screen.wait_for_url("**/account/")
    account = text_of(screen)
    assert "Not protected yet" in account
    assert re.search(r"You claimed your promo code on \d{4}-\d\d-\d\d: see your code\.", account)
    assert "Once the keys arrive, register them on your account." in account
    assert "Next: Order your keys with the code" in account
    screen.get_by_role("link", name="Continue the set-up steps").click()
    screen.wait_for_url(f"**{SETUP}")
    walk = text_of(screen)
    assert walk.startswith("Set up your security keys")
    assert screen.text_content("#promo-code") == "WAITING-CODE-9"
    assert "counts as done once your first key is registered" in walk
    fits_the_screen(screen)


def test_a_maintainer_with_keys_registered(screen, screen_keys, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, codes=["DONE-CODE-3"])
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "DONE-CODE-3")
    sign_in(screen, "maria")
    screen.wait_for_url("**/account/")
    first = screen_keys.plug_in()
    add_key(screen, "First key")
    screen.wait_for_url("**/account/security/recovery-codes")
    screen_keys.unplug(first)
    screen_keys.plug_in()
    add_key(screen, "Spare key")
    # add_key opened /account/security: wait for the answer, not the address.
    screen.get_by_text('Your security key "Spare key" is registered.').wait_for()
    add_recovery_codes(app, maria)
    sign_out(screen)
    sign_in(screen, "maria")
    use_key(screen)
    screen.wait_for_url("**/account/")
    account = text_of(screen)
    assert "Protected Signing in asks for a second factor after your password." in account
    assert "You have 2 security keys and 10 recovery codes left." in account
    assert "Nothing is left to set up." in account
    assert CLAIM_FIRST not in account and "Set it up step by step" not in account
    fits_the_screen(screen)
