"""The first run as the README tells it: `giveaway demo`, then the app on a port other than 5000.

Both run as separate processes, as `make run PORT=…` starts them. In Chromium,
maria signs in, claims the code the printout announced and registers a
(virtual) security key: the key's origin follows the port. A second `giveaway
demo` keeps her claim and her key.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import VirtualKeys
from tests.browser.steps import sign_in, text_of

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GIVEAWAY_", "FLASK_"))}
    return clean | {
        "GIVEAWAY_SECRET_KEY": "first-run-test-secret-key-0123456789",
        "GIVEAWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "GIVEAWAY_MAIL_URL": f"file://{tmp_path / 'outbox'}",
        "GIVEAWAY_BASE_URL": f"http://localhost:{port}",
        # No call out to the real breached-password service from a test.
        "GIVEAWAY_BREACHED_PASSWORDS_URL": "",
    }


def _demo(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from giveaway.cli import main; main()", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = _env(tmp_path, port)
    first = _demo(env)
    assert "Building the demo database" in first
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the app did not start:\n" + (tmp_path / "server.log").read_text())
            time.sleep(0.3)
        yield url, env | {"first_output": first}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
        log.close()


def test_first_run_on_another_port_claims_and_registers_a_key(browser: Any, served) -> None:  # type: ignore[no-untyped-def]
    url, env = served
    printed = re.search(
        r"maria can claim a code at /giveaway: .*to use before (.+?) \(in \d+ days\)",
        env["first_output"],
    )
    assert printed, env["first_output"]
    context = browser.new_context(base_url=url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        sign_in(page, "maria", password="demo-maintainer-pass")
        page.wait_for_url("**/account/")
        page.goto("/giveaway")
        page.get_by_label("Where would the keys be shipped?").select_option("FR")
        page.get_by_role("button", name="Claim my code").click()
        page.wait_for_load_state()
        # The code panel gives the same last moment as the printout, in the same words.
        assert f"by {printed.group(1).strip()}." in text_of(page)

        keys = VirtualKeys(page)
        key = keys.plug_in()
        page.goto("/account/security")
        page.fill("#key-label", "USB-C key")
        page.locator("[data-webauthn-start]:enabled").click()
        page.wait_for_url("**/account/security/recovery-codes")
        assert 'Your security key "USB-C key" is registered.' in text_of(page)
        assert len(keys.credentials(key)) == 1
    finally:
        context.close()

    again = _demo({k: v for k, v in env.items() if k != "first_output"})
    assert "Using the demo database in " in again
    assert re.search(r"maria has claimed \S+ .* and registered 1 security keys", again), again
