"""The claim as a maintainer clicks through it, in headless Chromium.

It uses the shared browser fixtures (tests/browser/conftest.py): a second
Playwright started inside the same run would clash with the session's one.
"""

from __future__ import annotations

import pytest

from tests.factories import TEST_PASSWORD, make_batch, make_maintainer

pytestmark = pytest.mark.browser


def test_claim_and_copy_the_code(page, live_server):  # type: ignore[no-untyped-def]
    make_batch(live_server.app, codes=["BROWSER-CODE-77"])
    make_maintainer(live_server.app, "maria")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/giveaway")
    page.get_by_role("link", name="Sign in").first.click()
    page.fill("#username", "maria")
    page.fill("#password", TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/giveaway")
    page.get_by_label("Where would the keys be shipped?").select_option("CH")
    page.get_by_role("button", name="Claim my code").click()
    assert page.text_content("#promo-code") == "BROWSER-CODE-77"
    page.get_by_role("button", name="Copy code").click()
    page.wait_for_function(
        "document.getElementById('copy-status').textContent.length > 0", timeout=5_000
    )
    assert page.evaluate("navigator.clipboard.readText()") == "BROWSER-CODE-77"
    # The walkthrough is one click away from the code.
    page.get_by_role("link", name="Set up your keys, step by step").click()
    page.wait_for_url("**/giveaway/setup")
    assert page.text_content("#promo-code") == "BROWSER-CODE-77"
    assert not errors, errors
