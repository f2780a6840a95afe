"""What a person does in the browser, shared by every browser test.

Each step is written once here (signing in, using a key, adding a key, signing
out) so the journeys read as the person walks them.
"""

from __future__ import annotations

import re
from typing import Any

import pyotp

from tests.factories import TEST_PASSWORD

# The two screens every journey is walked on: a phone and a laptop.
SCREENS = {"narrow": {"width": 375, "height": 800}, "wide": {"width": 1280, "height": 900}}


def sign_in(
    page: Any,
    username: str,
    *,
    next_url: str | None = None,
    totp_secret: str | None = None,
    password: str = TEST_PASSWORD,
) -> None:
    """Fill and send the sign-in form (and the TOTP step when a secret is given)."""
    page.goto("/account/login" + (f"?next={next_url}" if next_url else ""))
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Sign in").click()
    if totp_secret:
        page.wait_for_url(re.compile(r".*/account/login/2fa$"))
        page.fill("input[name=code]", pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name="Verify code").click()


def use_key(page: Any) -> None:
    """At the second step of signing in, press the security-key button."""
    page.wait_for_url("**/account/login/2fa")
    page.locator("[data-webauthn-start]:enabled").click()


def add_key(page: Any, label: str) -> None:
    """Register the plugged-in virtual key from the security page."""
    page.goto("/account/security")
    page.fill("#key-label", label)
    # Enabled once the options have arrived.
    page.locator("[data-webauthn-start]:enabled").click()


def claim(page: Any, region: str) -> None:
    """Answer the shipping question on /giveaway and press the claim button."""
    page.goto("/giveaway")
    page.get_by_label("Where would the keys be shipped?").select_option(region)
    page.get_by_role("button", name="Claim my code").click()


def press_key_button(page: Any) -> None:
    """Press the key box's button on the page shown (enabled once the options arrived)."""
    page.locator("[data-webauthn-start]:enabled").click()


def sign_out(page: Any) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/")


def text_of(page: Any, selector: str = "main") -> str:
    """The visible text of a part of the page, with runs of white space folded."""
    return " ".join(page.locator(selector).inner_text().split())


def fits_the_screen(page: Any) -> None:
    """Nothing on the page makes it scroll sideways (a cut-off column or word)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
