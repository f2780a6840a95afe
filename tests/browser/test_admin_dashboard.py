"""The admin dashboard with demo data, in headless Chromium: the plots are drawn."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from giveaway import db, demo
from giveaway.accounts.models import User

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_plots(page, live_server, tmp_path):
    app = live_server.app
    with app.app_context():
        demo.build()
        secret = db.session().scalar(select(User.totp_secret).where(User.username == "admin"))
    assert secret
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/account/login")
    page.fill("#username", demo.ADMIN[0])
    page.fill("#password", demo.ADMIN[2])
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url("**/account/login/2fa")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:has-text('Verify code')")
    page.wait_for_url("**/account/")
    page.goto("/admin/")
    assert page.locator("h1").inner_text() == "Dashboard"

    plots = page.locator("svg.plot")
    assert plots.count() == 4
    for i in range(plots.count()):
        box = plots.nth(i).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, box
    # Points and bars are drawn, not only the frame.
    claims = page.locator("svg.plot", has=page.locator("title", has_text="Claims per day"))
    assert claims.locator("circle").count() >= 20
    first_point = claims.locator("circle").first.bounding_box()
    assert first_point and first_point["width"] > 0
    funnel = page.locator("svg.plot", has=page.locator("title", has_text="From eligible"))
    bars = funnel.locator("rect")
    assert bars.count() == 5
    assert all(bars.nth(i).bounding_box()["width"] > 0 for i in range(5))
    # The text alternative opens without JavaScript.
    page.locator("summary", has_text="The funnel as a table").click()
    assert page.locator("th[scope=row]", has_text="Eligible maintainers").is_visible()

    shot = tmp_path / "admin-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
