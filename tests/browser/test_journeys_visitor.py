"""Journeys without dead ends, on a phone-sized and a laptop-sized screen.

Each asserts what the person is told at each turn: an anonymous visitor,
an expired form, a form-only address opened later, recovery codes typed back,
a key that is not registered to the account, and a rate-limited sign-in.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.steps import add_key, fits_the_screen, sign_in, sign_out, text_of, use_key
from tests.factories import make_batch, make_maintainer, make_user

pytestmark = pytest.mark.browser

EXPIRED = "Your session expired before the form was sent, so nothing was done."
FORM_ONLY = "That address only receives a form"


def test_an_anonymous_visitor_is_asked_to_sign_in_to_check(screen, live_server):
    make_batch(live_server.app, codes=["VISITOR-CODE-1"])
    make_maintainer(live_server.app, "maria")
    screen.goto("/")
    screen.locator("nav").get_by_role("link", name="Giveaway").click()
    screen.wait_for_url("**/giveaway")
    check = screen.locator('[data-check="signed_in"]')
    assert "pending" in (check.get_attribute("class") or "")
    assert "✗" not in text_of(screen, '[data-check="signed_in"]')
    assert "Sign in to check" in text_of(screen, '[data-check="signed_in"]')
    fits_the_screen(screen)
    check.get_by_role("link", name="Sign in").click()
    screen.fill("#username", "maria")
    screen.fill("#password", "a-long-test-passphrase")
    screen.get_by_role("button", name="Sign in").click()
    # Back where they were going, now told the answer.
    screen.wait_for_url("**/giveaway")
    assert "You are signed in as maria" in text_of(screen)
    assert screen.get_by_role("button", name="Claim my code").is_visible()


def test_an_expired_claim_form_leads_back_to_the_giveaway(screen, live_server):
    make_batch(live_server.app, codes=["EXPIRED-CODE-1"])
    make_maintainer(live_server.app, "maria")
    sign_in(screen, "maria", next_url="/giveaway")
    screen.wait_for_url("**/giveaway")
    screen.get_by_label("Where would the keys be shipped?").select_option("CH")
    screen.context.clear_cookies()  # the session ends while the form is open
    screen.get_by_role("button", name="Claim my code").click()
    screen.wait_for_url("**/giveaway")
    assert EXPIRED in text_of(screen)
    assert "Error 400" not in text_of(screen)
    assert "EXPIRED-CODE-1" not in text_of(screen)
    fits_the_screen(screen)


def test_the_claim_address_opened_later_is_the_giveaway_page(screen, live_server):
    screen.goto("/giveaway/claim")
    assert screen.url.endswith("/giveaway")
    assert FORM_ONLY in text_of(screen)
    assert "Error 405" not in text_of(screen)
    fits_the_screen(screen)


def test_recovery_codes_are_kept_then_one_is_typed_back(screen, screen_keys, live_server):
    make_user(live_server.app, "alice")
    screen.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(screen, "alice")
    screen.wait_for_url("**/account/")
    screen_keys.plug_in()
    add_key(screen, "Only key")
    screen.wait_for_url("**/account/security/recovery-codes")
    screen.get_by_role("button", name="Create recovery codes").click()
    codes = [c.strip() for c in screen.locator("[data-recovery-codes] li").all_inner_texts()]
    assert len(codes) == 10
    assert "This is the only time they are shown" in text_of(screen)
    fits_the_screen(screen)
    # Three ways to keep them.
    with screen.expect_download() as download:
        screen.get_by_role("link", name="Download as a text file").click()
    saved = download.value
    assert saved.suggested_filename == "security-key-giveaway-alice-recovery-codes.txt"
    with open(saved.path(), encoding="utf-8") as kept:
        text = kept.read()
    assert "recovery codes for alice" in text
    assert all(f"\n{code}\n" in text for code in codes)
    assert screen.get_by_role("button", name="Print").is_visible()
    screen.get_by_role("button", name="Copy all codes").click()
    screen.locator("#copy-status").filter(has_text="Copied").wait_for()
    assert screen.evaluate("navigator.clipboard.readText()") == "\n".join(codes)
    # A wrong code is refused and the person stays.
    screen.fill("#code", "aaaa-bbbb-cccc-dddd")
    screen.get_by_role("button", name="Confirm I saved them").click()
    assert "That is not one of your unused recovery codes" in text_of(screen)
    assert screen.url.endswith("/account/security/recovery-codes/confirm")
    # The right one counts.
    screen.fill("#code", codes[4])
    screen.get_by_role("button", name="Confirm I saved them").click()
    screen.wait_for_url("**/account/security")
    assert "Your recovery codes are saved" in text_of(screen)
    screen.goto("/account/security/recovery-codes")
    assert "You typed one of them back" in text_of(screen)


def test_a_key_not_registered_to_the_account_is_named_at_sign_in(screen, screen_keys, live_server):
    make_user(live_server.app, "alice")
    sign_in(screen, "alice")
    screen.wait_for_url("**/account/")
    mine = screen_keys.plug_in()
    add_key(screen, "My key")
    screen.wait_for_url("**/account/security/recovery-codes")
    sign_out(screen)
    # Another key (a colleague's, or one never registered) is the one at hand.
    screen_keys.unplug(mine)
    screen_keys.plug_in()
    sign_in(screen, "alice")
    use_key(screen)
    status = screen.locator("[data-webauthn-status]")
    status.filter(has_text="not registered to this account").wait_for(timeout=15_000)
    said = text_of(screen, "[data-webauthn-status]")
    assert "try another of your keys, or use a recovery code" in said
    assert "timed out" not in said
    assert screen.url.endswith("/account/login/2fa")
    fits_the_screen(screen)


def test_a_rate_limited_sign_in_says_how_long_to_wait(screen, live_server):
    live_server.app.config["RATELIMIT_LOGIN"] = "2/minute"
    make_user(live_server.app, "alice")
    for _ in range(2):
        sign_in(screen, "alice", password="not-the-password")
        assert "The username or password is not correct" in text_of(screen)
    sign_in(screen, "alice")
    said = text_of(screen)
    assert "Too many attempts" in said
    assert re.search(r"Please wait \d+ seconds? and try again", said), said
    fits_the_screen(screen)
