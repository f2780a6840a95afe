"""The claim as a maintainer clicks through it, in headless Chromium."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.claims.factories import make_batch, make_maintainer
from tests.conftest import TEST_PASSWORD, require

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
def test_claim_and_copy_the_code(app):  # type: ignore[no-untyped-def]
    require(os.path.exists(CHROMIUM), f"no Chromium at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.sync_api")
    make_batch(app, codes=["BROWSER-CODE-77"])
    make_maintainer(app, "maria")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://localhost:{server.server_port}"
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{base}/giveaway", timeout=10_000)
            page.get_by_role("link", name="Sign in").first.click()
            page.fill("#username", "maria")
            page.fill("#password", TEST_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"{base}/giveaway")
            page.get_by_label("Where would the keys be shipped?").select_option("CH")
            page.get_by_role("button", name="Claim my code").click()
            assert page.text_content("#promo-code") == "BROWSER-CODE-77"
            page.get_by_role("button", name="Copy code").click()
            page.wait_for_function(
                "document.getElementById('copy-status').textContent.length > 0", timeout=5_000
            )
            assert page.evaluate("navigator.clipboard.readText()") == "BROWSER-CODE-77"
            assert not errors, errors
            browser.close()
    finally:
        server.shutdown()
        thread.join()
