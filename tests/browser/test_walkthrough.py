"""The set-up walkthrough in headless Chromium, with DevTools virtual security keys.

The claimant's pass presses every step's button from the keyboard alone (Tab to
reach it, Enter to press it): the walkthrough must work without a mouse.
"""

from __future__ import annotations

import pyotp
import pytest

from tests.browser.steps import sign_in, use_key
from tests.factories import TEST_PASSWORD, give_code, make_batch, make_maintainer, make_user

pytestmark = pytest.mark.browser

SETUP = "/giveaway/setup"


def current_step(page) -> str:  # type: ignore[no-untyped-def]
    found = page.locator('[data-step][aria-current="step"]')
    return found.get_attribute("data-step") if found.count() else "done"


def wait_for_step(page, key: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_url(f"**{SETUP}")
    if key == "done":
        page.locator("#done").wait_for()
    else:
        page.locator(f'[data-step="{key}"][aria-current="step"]').wait_for()


def press_with_keyboard(page, selector: str, max_tabs: int = 80) -> None:  # type: ignore[no-untyped-def]
    """Tab from the top of the page to `selector` and press Enter: no mouse involved."""
    target = page.locator(selector)
    target.wait_for()
    page.locator("body").evaluate("body => { document.activeElement?.blur(); }")
    for _ in range(max_tabs):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            # Focus is visible where it lands (the element is on screen).
            assert target.is_visible()
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_claimant_walks_the_whole_page_with_the_keyboard(page, live_server, virtual_keys):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, codes=["SETUP-CODE-42"], vendor="KeyShop")
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "SETUP-CODE-42")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    sign_in(page, "maria", next_url=SETUP)
    wait_for_step(page, "redeem")
    assert page.text_content("#promo-code") == "SETUP-CODE-42"
    assert page.locator("[data-step=redeem] [data-step-status]").inner_text() == "Your next step"

    # The keys arrived: register the first one.
    first = virtual_keys.plug_in()
    page.locator("[data-webauthn-start]:enabled").wait_for()
    press_with_keyboard(page, "[data-webauthn-start]")
    wait_for_step(page, "second_key")
    assert page.locator("[data-step=first_key] [data-step-status]").inner_text() == "Done"
    assert page.locator("[data-step=redeem] [data-step-status]").inner_text() == "Done"
    assert "other one" in page.locator("[data-step=second_key]").inner_text()

    # The first key again is refused by the browser: the page says to use the other one.
    page.locator("[data-webauthn-start]:enabled").wait_for()
    press_with_keyboard(page, "[data-webauthn-start]")
    page.locator("[data-webauthn-status]").filter(has_text="already registered").wait_for()

    # The spare key.
    first_credentials = virtual_keys.unplug(first)
    second = virtual_keys.plug_in()
    page.locator("[data-webauthn-start]:enabled").wait_for()
    press_with_keyboard(page, "[data-webauthn-start]")
    wait_for_step(page, "recovery_codes")
    assert len(virtual_keys.credentials(second)) == 1

    # Recovery codes, and back.
    press_with_keyboard(page, "a:has-text('Create my recovery codes')")
    page.wait_for_url(lambda url: "/account/security/recovery-codes?next=" in url)
    press_with_keyboard(page, "button:has-text('Create recovery codes')")
    page.locator("[data-recovery-codes] li").first.wait_for()
    assert page.locator("[data-recovery-codes] li").count() == 10
    # Saved means one code typed back.
    page.fill("#code", page.locator("[data-recovery-codes] li").first.inner_text().strip())
    press_with_keyboard(page, "button:has-text('Confirm I saved them')")
    wait_for_step(page, "sign_in_with_key")

    # Sign out and in again with the spare key (still plugged in).
    press_with_keyboard(page, "button:has-text('Sign out and sign in with a key')")
    page.wait_for_url(lambda url: "/account/login?next=" in url)
    page.fill("#username", "maria")
    page.fill("#password", TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/account/login/2fa")
    page.locator("[data-webauthn-start]:enabled").wait_for()
    press_with_keyboard(page, "[data-webauthn-start]")
    wait_for_step(page, "done")
    assert "Done: your account is protected" in page.content()
    assert page.locator('[aria-current="step"]').count() == 0
    assert page.locator("[data-step-status]").all_inner_texts() == ["Done"] * 6

    # The first key signs in too.
    page.click("button:has-text('Sign out')")
    virtual_keys.unplug(second)
    virtual_keys.plug_back(first_credentials)
    sign_in(page, "maria", next_url=SETUP)
    use_key(page)
    wait_for_step(page, "done")
    page.goto("/giveaway")
    assert "Both keys are registered" in page.locator("#your-code").inner_text()
    assert not errors, errors


def test_non_claimant_sets_up_an_authenticator_app(page, live_server):  # type: ignore[no-untyped-def]
    make_user(live_server.app, "ana")
    sign_in(page, "ana", next_url=SETUP)
    wait_for_step(page, "second_factor")
    assert "Buy a security key yourself" in page.content()
    assert page.locator("#promo-code").count() == 0

    press_with_keyboard(page, "a:has-text('Set up an authenticator app')")
    page.wait_for_url(lambda url: "/account/security/totp?next=" in url)
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:has-text('Turn on')")
    page.wait_for_url(lambda url: "/account/security/recovery-codes?next=" in url)
    page.click("button:has-text('Create recovery codes')")
    page.fill("#code", page.locator("[data-recovery-codes] li").last.inner_text().strip())
    page.click("button:has-text('Confirm I saved them')")
    wait_for_step(page, "done")
    assert "authenticator app" in page.locator("#done").inner_text()
