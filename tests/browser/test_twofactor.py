"""Security keys and TOTP in headless Chromium with DevTools virtual authenticators."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.browser.steps import add_key, sign_in, sign_out, use_key
from tests.factories import make_user

pytestmark = pytest.mark.browser


def test_two_keys_register_and_each_signs_in(page, live_server, virtual_keys):
    make_user(live_server.app, "alice")
    sign_in(page, "alice")
    page.wait_for_url("**/account/")

    first = virtual_keys.plug_in()
    add_key(page, "First key")
    page.wait_for_url("**/account/security/recovery-codes")
    assert "is registered" in page.content()
    first_credentials = virtual_keys.unplug(first)
    assert len(first_credentials) == 1

    second = virtual_keys.plug_in()
    add_key(page, "Second key")
    page.wait_for_url("**/account/security")
    page.wait_for_selector('text=Your security key "Second key" is registered.')
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    second_credentials = virtual_keys.credentials(second)

    # Sign in with the second key (still plugged in).
    sign_out(page)
    sign_in(page, "alice")
    use_key(page)
    page.wait_for_url("**/account/")
    assert "Signed in as alice" in page.content()

    # Sign in with the first key: the second one is unplugged.
    sign_out(page)
    virtual_keys.unplug(second)
    virtual_keys.plug_back(first_credentials)
    sign_in(page, "alice")
    use_key(page)
    page.wait_for_url("**/account/")
    assert "Signed in as alice" in page.content()
    assert second_credentials[0]["signCount"] >= 0


def test_registering_the_same_key_twice_is_explained(page, live_server, virtual_keys):
    make_user(live_server.app, "alice")
    sign_in(page, "alice")
    page.wait_for_url("**/account/")
    virtual_keys.plug_in()
    add_key(page, "Only key")
    page.wait_for_url("**/account/security/recovery-codes")
    add_key(page, "Same key again")
    status = page.locator("[data-webauthn-status]")
    status.filter(has_text="already registered").wait_for()


def test_a_cancelled_ceremony_shows_a_message(page, live_server, virtual_keys):
    make_user(live_server.app, "alice")
    live_server.app.config["WEBAUTHN_TIMEOUT_MS"] = 1000
    sign_in(page, "alice")
    page.wait_for_url("**/account/")
    # A key nobody touches: the browser gives up after the (short) timeout.
    virtual_keys.plug_in(automaticPresenceSimulation=False)
    started = time.monotonic()
    add_key(page, "Nobody touches me")
    status = page.locator("[data-webauthn-status]")
    status.filter(has_text="timed out: no key was touched in time").wait_for(timeout=30_000)
    assert time.monotonic() - started < 30


def test_totp_setup_and_sign_in(page, live_server):
    make_user(live_server.app, "alice")
    sign_in(page, "alice")
    page.wait_for_url("**/account/")
    page.locator("nav a", has_text="Security").last.click()
    page.click("a:has-text('Set up an authenticator app')")
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml;base64,")
    # The QR code is drawn (the CSP allows data: images).
    assert page.locator("img.qr").evaluate("img => img.complete && img.naturalWidth") > 100
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:has-text('Turn on')")
    page.wait_for_url("**/account/security/recovery-codes")
    page.click("button:has-text('Create recovery codes')")
    assert page.locator("[data-recovery-codes] li").count() == 10

    page.goto("/account/")
    sign_out(page)
    sign_in(page, "alice")
    page.wait_for_url("**/account/login/2fa")
    # The code of the setup step is used up: the next one (one step of drift) works.
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("button:has-text('Verify code')")
    page.wait_for_url("**/account/")
    assert "Signed in as alice" in page.content()


def test_security_page_without_javascript_support_says_so(page, live_server):
    make_user(live_server.app, "alice")
    sign_in(page, "alice")
    page.wait_for_url("**/account/")
    page.add_init_script("delete window.PublicKeyCredential;")
    page.goto("/account/security")
    page.locator("[data-webauthn-status]").filter(has_text="cannot use security keys").wait_for()
