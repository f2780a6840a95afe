"""The claim as a maintainer clicks through it, in headless Chromium."""

from __future__ import annotations

import pytest

from tests.claims.factories import make_batch, make_maintainer
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_claim_and_copy_the_code(page, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, codes=["BROWSER-CODE-77"])
    make_maintainer(app, "maria")
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
    assert not errors, errors
