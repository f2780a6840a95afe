"""The account pages in a real browser: register, verify, sign out, sign in."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.accounts.conftest import link_path
from tests.conftest import Outbox, require

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        require(False, "Playwright is not installed")
    require(shutil.which(CHROMIUM) is not None, f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture
def live_url(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://localhost:{server.server_port}"
    app.config["BASE_URL"] = url
    yield url
    server.shutdown()
    thread.join(5)


def test_register_verify_sign_out_and_in(browser, live_url, outbox: Outbox):
    page = browser.new_page()
    page.set_default_timeout(5000)
    page.goto(live_url + "/")
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Username").fill("walker")
    page.get_by_label("Email address").fill("walker@example.org")
    page.get_by_label("Password", exact=True).fill("a-long-walk-passphrase")
    page.get_by_label("Confirm password").fill("a-long-walk-passphrase")
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.get_by_text("Not verified").is_visible()

    page.goto(live_url + link_path(outbox, "walker@example.org", "verify"))
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
    page.close()


def test_pages_load_without_console_errors(browser, live_url):
    """No CSP violation or missing asset on the account pages."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(r.url) if r.status >= 400 else None)
    for path in ("/", "/account/register", "/account/login", "/account/reset"):
        page.goto(live_url + path)
    page.close()
    assert problems == []
