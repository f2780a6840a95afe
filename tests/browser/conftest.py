"""Browser fixtures shared by every area: a live server and headless Chromium.

The app runs in a thread (werkzeug) on a free port and is opened at
http://localhost:PORT: WebAuthn needs the "localhost" host name to match the
relying-party id (127.0.0.1 is refused). Chromium is Debian's /usr/bin/chromium,
driven by Playwright's sync API; `playwright install` is never needed. Outside
CI the tests skip when Chromium or Playwright is missing; under CI=true they
fail instead.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.steps import SCREENS
from tests.conftest import make_sqlite_app, require

CHROMIUM = os.environ.get("GIVEAWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveServer:
    app: Flask
    url: str


@pytest.fixture
def live_server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    """The app on a fresh SQLite database, served from a thread."""
    app = make_sqlite_app(
        tmp_path,
        sqlite_template,
        RATELIMIT_LOGIN="1000/minute",
        RATELIMIT_TWOFACTOR="1000/minute",
        WEBAUTHN_RP_ID="localhost",
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://localhost:{server.server_port}"
    app.config.update(WEBAUTHN_ORIGIN=url, BASE_URL=url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["db.engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        require(False, "Python Playwright is not installed")
    found = os.path.exists(CHROMIUM) or shutil.which("chromium") is not None
    require(found, f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception as exc:  # noqa: BLE001 - report why Chromium would not start
        playwright.stop()
        require(False, f"Chromium did not start: {exc}")
    try:
        yield instance
    finally:
        instance.close()
        playwright.stop()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context and page on the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(params=sorted(SCREENS), ids=sorted(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A page on a phone-sized (375 px) and on a laptop-sized screen: journeys walk both."""
    context = browser.new_context(base_url=live_server.url, viewport=SCREENS[request.param])
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


class VirtualKeys:
    """DevTools virtual authenticators: each one stands for a physical key."""

    OPTIONS = {
        "protocol": "ctap2",
        "ctap2Version": "ctap2_1",
        "transport": "usb",
        "hasResidentKey": False,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})

    def plug_in(self, **options: Any) -> str:
        result = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator", {"options": {**self.OPTIONS, **options}}
        )
        return result["authenticatorId"]

    def unplug(self, authenticator_id: str) -> list[dict[str, Any]]:
        """Remove a key, returning its credentials so it can come back later."""
        credentials = self.credentials(authenticator_id)
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator_id})
        return credentials

    def plug_back(self, credentials: list[dict[str, Any]], **options: Any) -> str:
        authenticator_id = self.plug_in(**options)
        for credential in credentials:
            self.cdp.send(
                "WebAuthn.addCredential",
                {"authenticatorId": authenticator_id, "credential": credential},
            )
        return authenticator_id

    def credentials(self, authenticator_id: str) -> list[dict[str, Any]]:
        return self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})[
            "credentials"
        ]


@pytest.fixture
def virtual_keys(page: Any) -> VirtualKeys:
    return VirtualKeys(page)


@pytest.fixture
def screen_keys(screen: Any) -> VirtualKeys:
    """Virtual security keys for the `screen` page."""
    return VirtualKeys(screen)
