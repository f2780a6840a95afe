"""The pool's journeys, walked on a phone and on a laptop, asserting what each person is told.

(a) The pool is empty: a maintainer who could claim asks to be told; an admin
    uploads a batch (blank lines, Back once, a store address, a last day); the
    cron job emails the maintainer, who follows the link, claims, and is shown
    where to redeem the code and until when, in the giveaway's time zone.
(b) A code that expires unredeemed: the reminder, then what the page says.
(c) An admin uploads, voids a code and exports the claims.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from giveaway import clock, db
from giveaway.claims import deadline, expiry
from tests.browser.steps import (
    fits_the_screen,
    sign_in,
    sign_out,
    tables_fit,
    text_of,
    upload_batch,
)
from tests.conftest import outbox_for
from tests.factories import (
    ADMIN_TOTP_SECRET,
    give_code,
    make_admin,
    make_batch,
    make_maintainer,
    set_clock,
)

pytestmark = pytest.mark.browser

ZONE = "Europe/Berlin"
STORE = "https://keys.example.com/redeem"
CODES_FILE = b"code\nPOOL-0001\n\nPOOL-0002\n   \nPOOL-0003\n\n"


def _in_zone(app):  # type: ignore[no-untyped-def]
    app.config["GIVEAWAY_TIMEZONE"] = ZONE


def _cron(app) -> expiry.Summary:  # type: ignore[no-untyped-def]
    """One run of `giveaway expire-codes`, as cron starts it."""
    with app.app_context():
        summary = expiry.run(db.session(), clock.now(), reminder_days=7)
        db.session().commit()
    return summary


def _said(app, when: datetime) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return deadline.describe(when)


def test_empty_pool_ask_upload_restock_claim(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    _in_zone(app)
    outbox = outbox_for(app)
    # Every code of the first batch went to someone else.
    make_batch(app, "first", codes=["GONE-0001"])
    give_code(app, make_maintainer(app, "early"), "GONE-0001")
    make_maintainer(app, "maria")
    make_admin(app, "root")

    # The maintainer could claim, but the pool is empty: she asks to be told.
    sign_in(screen, "maria", next_url="/giveaway")
    screen.wait_for_url("**/giveaway")
    told = text_of(screen, "#out-of-codes")
    assert "every code has been handed out" in told
    screen.get_by_role("button", name="Email me when codes return").click()
    assert "We will email maria@" in text_of(screen, ".flashes")
    fits_the_screen(screen)
    sign_out(screen)

    # The admin uploads a batch; the file has blank lines; Back keeps the form.
    sign_in(screen, "root", totp_secret=ADMIN_TOTP_SECRET)
    screen.wait_for_url("**/")
    screen.goto("/admin/batches")
    last_day = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=30)).date()
    upload_batch(
        screen,
        CODES_FILE,
        name="restock",
        vendor="Example Keys",
        store_url=STORE,
        keys_per_code="2",
        expires=last_day.isoformat(),
    )
    preview = text_of(screen)
    assert "Every line is good" in preview
    assert "3 blank lines skipped" in preview and "the first is a header" in preview
    assert f"the end of {last_day.day} {last_day:%B %Y} (Europe/Berlin time)" in preview
    assert STORE in preview
    fits_the_screen(screen)
    screen.get_by_role("link", name="Back to the form").click()
    assert "The details you entered are kept below" in text_of(screen, "#upload")
    assert screen.input_value("#name") == "restock"
    assert screen.input_value("#vendor") == "Example Keys"
    assert screen.input_value("#store_url") == STORE
    assert screen.input_value("#expires") == last_day.isoformat()
    # The file is the one thing a browser cannot keep: choose it again.
    upload_batch(screen, CODES_FILE)
    screen.get_by_role("button", name="Add the batch").click()
    assert "Batch restock added with 3 codes." in text_of(screen, ".flashes")
    batches = text_of(screen, ".table-wrap")
    assert STORE in batches and f"end of {last_day.isoformat()} (Europe/Berlin time)" in batches
    fits_the_screen(screen)
    tables_fit(screen)
    sign_out(screen)

    # The cron job tells the waiting maintainer; she follows the email's link.
    assert _cron(app).notified == 1
    [restocked] = [m for m in outbox.to("maria@") if "available again" in str(m["Subject"])]
    link = next(u for u in outbox.links(restocked) if u.endswith("/giveaway"))
    screen.goto(link)
    sign_in(screen, "maria", next_url="/giveaway")
    screen.wait_for_url("**/giveaway")
    screen.get_by_label("Where would the keys be shipped?").select_option("DE")
    screen.get_by_role("button", name="Claim my code").click()
    assert "Your code is ready" in text_of(screen, ".flashes")
    code = text_of(screen, "#promo-code")
    assert code in {"POOL-0001", "POOL-0002", "POOL-0003"}
    redeem = text_of(screen, "#redeem-at")
    assert "Redeem it at Example Keys's store" in redeem
    assert f"by the end of {last_day.day} {last_day:%B %Y} (Europe/Berlin time)" in redeem
    assert screen.get_by_role("link", name="Example Keys's store").get_attribute("href") == STORE
    fits_the_screen(screen)

    # The receipt links the store too, and says the same expiry.
    [receipt] = [m for m in outbox.to("maria@") if code in outbox.text(m)]
    body = outbox.text(receipt)
    assert STORE in body
    assert f"the end of {last_day.day} {last_day:%B %Y} (Europe/Berlin time)" in body


def test_a_code_that_expires_unredeemed(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    _in_zone(app)
    outbox = outbox_for(app)
    now = clock.now()
    with app.app_context():
        last_day = (now.astimezone(ZoneInfo(ZONE)) + timedelta(days=3)).date()
        ends = deadline.end_of_day(last_day)
    make_batch(
        app, "short", codes=["LATE-0001"], vendor="Example Keys", store_url=STORE, expires_at=ends
    )
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "LATE-0001")
    said = _said(app, ends)
    assert said == f"the end of {last_day.day} {last_day:%B %Y} (Europe/Berlin time)"

    # Three days before the end, the cron job reminds her (once), with the store.
    assert _cron(app).reminded == 1
    assert _cron(app).reminded == 0
    [reminder] = outbox.to("maria@")
    assert "expires in" in str(reminder["Subject"])
    body = outbox.text(reminder)
    assert "LATE-0001" in body and STORE in body and f"works until {said}" in body

    sign_in(screen, "maria", next_url="/giveaway")
    screen.wait_for_url("**/giveaway")
    assert f"by {said}" in text_of(screen, "#redeem-at")
    fits_the_screen(screen)

    # The last day passes unredeemed: the page says so and no longer sends her to the store.
    set_clock(app, ends)
    assert _cron(app).expired == 0  # a claimed code stays hers; it is past its date
    screen.goto("/giveaway")
    panel = text_of(screen, "#your-code")
    assert f"This code expired at {said}" in panel
    assert "write to" in panel
    assert screen.locator("#redeem-at").count() == 0
    fits_the_screen(screen)


def test_admin_uploads_voids_and_exports(screen, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    _in_zone(app)
    make_admin(app, "root")
    maria = make_maintainer(app, "maria")
    sign_in(screen, "root", totp_secret=ADMIN_TOTP_SECRET)
    screen.wait_for_url("**/")
    screen.goto("/admin/batches")
    last_day = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=60)).date()
    upload_batch(
        screen,
        b"ADM-0001\nADM-0002\n\nADM-0003\nADM-0004\n",
        name="admin-batch",
        vendor="Example Keys",
        store_url=STORE,
        expires=last_day.isoformat(),
    )
    assert "1 blank line skipped" in text_of(screen)
    screen.get_by_role("button", name="Add the batch").click()
    assert "Batch admin-batch added with 4 codes." in text_of(screen, ".flashes")
    assert "4 available" in text_of(screen, ".stat-row")

    # One code leaked: void it; the counts say so.
    screen.fill("#code", "ADM-0004")
    screen.fill("#reason", "posted in a public chat")
    screen.get_by_role("button", name="Void the code").click()
    assert "is voided" in text_of(screen, ".flashes")
    stats = text_of(screen, ".stat-row")
    assert "3 available" in stats and "1 voided" in stats
    # A code already voided cannot be voided again: told why.
    screen.fill("#code", "ADM-0004")
    screen.fill("#reason", "again")
    screen.get_by_role("button", name="Void the code").click()
    assert "already voided" in text_of(screen)
    fits_the_screen(screen)
    tables_fit(screen)

    give_code(app, maria, "ADM-0001")
    screen.goto("/admin/claims")
    assert "1 code claimed" in text_of(screen)
    assert f"end of {last_day.isoformat()}" in text_of(screen, ".table-wrap")
    fits_the_screen(screen)
    tables_fit(screen)
    with screen.expect_download() as download_info:
        screen.get_by_role("link", name=re.compile("CSV", re.IGNORECASE)).first.click()
    download = download_info.value
    assert download.suggested_filename.startswith("claims-")
    with open(download.path(), encoding="utf-8") as fh:
        rows = list(csv.reader(io.StringIO(fh.read())))
    assert rows[0] == ["username", "code", "batch", "claimed_at", "expires_at", "usable_until"]
    assert rows[1][:3] == ["maria", "ADM-0001", "admin-batch"]
    assert rows[1][5] == f"end of {last_day.isoformat()} (Europe/Berlin time)"
    assert len(rows) == 2
