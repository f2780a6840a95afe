"""The account pages in a real browser: register, verify, sign out, sign in."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import link_path
from tests.conftest import Outbox

pytestmark = pytest.mark.browser


def test_register_verify_sign_out_and_in(page, live_server):  # type: ignore[no-untyped-def]
    outbox = Outbox(live_server.app)
    page.goto("/")
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Username").fill("walker")
    page.get_by_label("Email address").fill("walker@example.org")
    page.get_by_label("Password", exact=True).fill("a-long-walk-passphrase")
    page.get_by_label("Confirm password").fill("a-long-walk-passphrase")
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.get_by_text("Not verified").is_visible()

    page.goto(link_path(outbox, "walker@example.org", "verify"))
    assert page.get_by_text("walker@example.org is verified").is_visible()
    assert page.get_by_text("Verified", exact=False).first.is_visible()

    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_text("You are signed out.").is_visible()

    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username").fill("walker")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("The username or password is not correct.").is_visible()
    page.get_by_label("Password").fill("a-long-walk-passphrase")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Signed in as walker.").is_visible()


def test_pages_load_without_console_errors(page):  # type: ignore[no-untyped-def]
    """No CSP violation or missing asset on the account pages."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(r.url) if r.status >= 400 else None)
    for path in ("/", "/account/register", "/account/login", "/account/reset", "/giveaway"):
        page.goto(path)
    assert problems == []
