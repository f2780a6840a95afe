"""Journeys of the first run, on a phone and a laptop screen: what each person is told.

- a maintainer of no critical project learns why they cannot claim and what to do
  instead, and is offered 2FA with no warning about giving up keys;
- an administrator without 2FA is sent to set it up first, does, and reaches the
  dashboard;
- a maintainer whose password appears in a breach is stopped at sign-in, told
  why, and gets back in through the emailed link with a new password.
"""

from __future__ import annotations

import hashlib
import re

import pytest
import responses

from tests.accounts.conftest import link_path
from tests.browser.steps import (
    fits_the_screen,
    set_new_password,
    sign_in,
    text_of,
    turn_on_totp,
)
from tests.conftest import Outbox
from tests.factories import TEST_PASSWORD, make_batch, make_project, make_user

pytestmark = pytest.mark.browser

RANGE_PATTERN = re.compile(r"https://breached\.test/range/[0-9A-F]{5}")
GIVING_UP_KEYS = ("give up", "lose the free keys", "no longer eligible", "free keys")


def test_a_maintainer_of_no_critical_project(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, codes=["AAAA-BBBB-CCCC"])
    nina = make_user(app, "nina")
    make_project(app, "tiny-thing", maintainers=[nina])
    sign_in(screen, "nina")
    screen.wait_for_url("**/account/")
    assert "Signed in as nina." in text_of(screen)

    screen.goto("/giveaway")
    said = text_of(screen)
    # Why not, in one sentence, and what to do instead.
    assert "None of the projects you are an Owner or Maintainer of is among" in said
    assert "Keys go to maintainers of critical projects only." in said
    assert "authenticator app or a key of your own" in said
    assert screen.get_by_role("button", name="Claim my code").count() == 0
    fits_the_screen(screen)

    # 2FA is offered plainly: there are no free keys to lose.
    screen.get_by_role("link", name="Security").last.click()
    screen.wait_for_url("**/account/security")
    said = text_of(screen)
    assert "Two-factor authentication asks for something you have" in said
    assert not [w for w in GIVING_UP_KEYS if w in said.lower()], said
    fits_the_screen(screen)
    turn_on_totp(screen)
    screen.wait_for_url("**/account/security/recovery-codes")
    assert "free keys" not in text_of(screen).lower()


def test_an_admin_without_2fa(screen, live_server):  # type: ignore[no-untyped-def]
    make_user(live_server.app, "root", is_admin=True)
    sign_in(screen, "root", next_url="/admin/")
    # Sent to set up 2FA first, with the reason.
    screen.wait_for_url("**/account/security")
    said = text_of(screen)
    assert "Administrators must use two-factor authentication." in said
    assert "Add a security key or an authenticator app to open the admin pages." in said
    fits_the_screen(screen)

    turn_on_totp(screen)
    screen.wait_for_url("**/account/security/recovery-codes")
    screen.get_by_role("link", name="Admin").first.click()
    screen.wait_for_url("**/admin/")
    assert screen.locator("h1").inner_text() == "Dashboard"
    fits_the_screen(screen)


def test_a_password_found_in_a_breach_at_sign_in(screen, live_server, no_network):  # type: ignore[no-untyped-def]
    app = live_server.app
    outbox = Outbox(app)
    make_user(app, "alice")
    digest = hashlib.sha1(TEST_PASSWORD.encode(), usedforsecurity=False).hexdigest().upper()
    no_network.replace(responses.GET, RANGE_PATTERN, body=f"{digest[5:]}:77\r\n")

    sign_in(screen, "alice")
    notice = screen.get_by_text("This password appears in a data breach")
    notice.wait_for()
    said = text_of(screen)
    assert "we have turned it off: it no longer signs you in" in said
    assert "We have emailed you a link to choose a new password." in said
    assert screen.get_by_role("link", name="Send me a new link to choose a password").is_visible()
    fits_the_screen(screen)
    screen.goto("/account/")
    screen.wait_for_url("**/account/login**")  # not signed in

    new_password = "a-fresh-unbreached-passphrase"
    set_new_password(screen, link_path(outbox, "alice@example.org", "reset"), new_password)
    screen.wait_for_url("**/account/")
    assert "Your password is set and you are signed in." in text_of(screen)
    fits_the_screen(screen)
