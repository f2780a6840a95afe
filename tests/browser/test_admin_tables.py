"""Every admin page with a table fits a laptop (1280 px) and a phone (375 px).

A table too wide for its column must not be cut off: long cells wrap, and a
table that still cannot fit (a phone) scrolls in its own region with a
visible cue saying so; the page itself never scrolls sideways.
"""

from __future__ import annotations

import pytest

from tests.browser.steps import fits_the_screen, sign_in, tables_fit, text_of
from tests.factories import (
    ADMIN_TOTP_SECRET,
    give_code,
    make_admin,
    make_batch,
    make_maintainer,
    make_project,
    record_event,
)

pytestmark = pytest.mark.browser

ADMIN_PAGES = [
    "/admin/",
    "/admin/batches",
    "/admin/claims",
    "/admin/critical",
    "/admin/imports",
    "/admin/users",
    "/admin/compliance",
    "/admin/events",
]


def _busy_portal(app):  # type: ignore[no-untyped-def]
    """Rows with the longest values each table shows (the events' detail above all)."""
    admin = make_admin(app, "root")
    maria = make_maintainer(app, "maria-with-a-rather-long-user-name")
    make_project(
        app,
        "a-project-with-a-very-long-normalized-name-indeed",
        maintainers=[(maria, "Owner")],
        critical=True,
    )
    make_batch(
        app,
        "spring-batch-with-a-long-name",
        codes=["LONG-CODE-0001-ABCDEFGHIJKLMNOP", "LONG-CODE-0002-ABCDEFGHIJKLMNOP"],
        vendor="Example Security Keys Incorporated",
        store_url="https://keys.example.com/a/very/long/path/to/the/giveaway/redeem/page?campaign=critical-projects-2027",
    )
    give_code(app, maria, "LONG-CODE-0001-ABCDEFGHIJKLMNOP")
    record_event(
        app,
        "claim:batch_uploaded",
        None,
        actor=admin,
        batch="spring-batch-with-a-long-name",
        vendor="Example Security Keys Incorporated",
        note="x" * 160,
        url="https://keys.example.com/a/very/long/path/without/any/break/" + "y" * 80,
    )


def test_every_admin_table_fits_the_screen(screen, live_server):  # type: ignore[no-untyped-def]
    _busy_portal(live_server.app)
    sign_in(screen, "root", totp_secret=ADMIN_TOTP_SECRET)
    screen.wait_for_url("**/")
    for path in ADMIN_PAGES:
        screen.goto(path)
        assert "Error" not in text_of(screen, "h1"), path
        fits_the_screen(screen)
        tables_fit(screen)
    # The events' last column (the detail) is read in full at 1280 px.
    screen.goto("/admin/events")
    assert "x" * 40 in text_of(screen, ".table-wrap")
