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
    page.wait_for_load_state("load")
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def tables_fit(page: Any) -> None:
    """Every table is read whole: it fits its region, or the region scrolls sideways
    and a visible cue says so (no column silently cut off)."""
    # The cue is added by js/tables.js once the page has loaded.
    page.wait_for_load_state("load")
    hidden = page.evaluate(
        """() => [...document.querySelectorAll('.table-wrap')].filter(wrap => {
            if (wrap.scrollWidth <= wrap.clientWidth + 1) return false;
            const cue = wrap.previousElementSibling;
            const shown = cue && cue.classList.contains('scroll-cue') && cue.offsetParent !== null;
            return !shown;
        }).map(wrap => (wrap.getAttribute('aria-label') || 'a table')
            + ` (${wrap.scrollWidth - wrap.clientWidth}px hidden)`)"""
    )
    assert not hidden, f"{page.url}: cut off with no cue: {hidden}"


def upload_batch(page: Any, content: bytes | None, **fields: str) -> None:
    """On /admin/batches, fill the upload form (fields by name: name, vendor, store_url,
    keys_per_code, expires) and ask for the preview. `content` None keeps the file
    input as it is."""
    if content is not None:
        page.set_input_files(
            "#file", files=[{"name": "codes.txt", "mimeType": "text/plain", "buffer": content}]
        )
    for name, value in fields.items():
        page.fill(f"#{name}", value)
    page.get_by_role("button", name="Check the file").click()


def turn_on_totp(page: Any) -> str:
    """From the security page: add an authenticator app; the secret it was given."""
    page.get_by_role("link", name="Set up an authenticator app").click()
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    return secret


def set_new_password(page: Any, link: str, password: str) -> None:
    """Open an emailed password link and choose `password`."""
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(password)
    page.get_by_label("Confirm new password").fill(password)
    page.get_by_role("button", name="Set password").click()
