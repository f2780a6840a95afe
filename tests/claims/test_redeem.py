"""Where to redeem a code: the batch's store address, from the upload to the maintainer.

Also the admin's upload itself: blank lines are skipped and counted, and going
back from the preview keeps what was entered.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from giveaway import clock, db
from giveaway.claims import expiry, pool
from giveaway.claims.models import PromoBatch, PromoCode
from tests.conftest import AuthActions, csrf_token, outbox_for, post_form
from tests.factories import give_code, make_admin, make_batch, make_maintainer

STORE = "https://keys.example.com/redeem?campaign=giveaway"
FUTURE = (date.today() + timedelta(days=90)).isoformat()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("http://keys.example.com/", "must start with https://"),
        ("javascript:alert(1)", "must start with https://"),
        ("ftp://keys.example.com/", "must start with https://"),
        ("https://", "no host name"),
        ("https://localhost/shop", "no host name"),
        ("https://shop.example.com/a b", "spaces"),
        ("https://user:secret@shop.example.com/", "user name or password"),
        ("https://shop.example.com:99999/", "not a web address"),
        ("https://shop.example.com/" + "a" * 500, "longer than 500"),
    ],
)
def test_a_store_address_that_cannot_be_used_is_refused(value, words):  # type: ignore[no-untyped-def]
    problem = pool.store_url_problem(value)
    assert problem is not None and words in problem


@pytest.mark.parametrize("value", [STORE, "  https://SHOP.example.com  ", "", None])
def test_good_or_absent_store_addresses_pass(value):  # type: ignore[no-untyped-def]
    assert pool.store_url_problem(value) is None


def test_blank_lines_are_skipped_and_counted():
    report = pool.parse_codes("\ncode\nAAAA-1\n\n   \nBBBB-2\n\t\n")
    assert report.codes == ["AAAA-1", "BBBB-2"]
    assert report.blank_lines == 4 and report.header_skipped
    assert not report.problem_count


# --- the admin page --------------------------------------------------------------------


@pytest.fixture
def admin_client(app, client, auth):  # type: ignore[no-untyped-def]
    make_admin(app, "root")
    auth.login_with_totp("root")
    return client


def _upload(client, content: bytes, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/admin/batches")
    data = {
        "csrf_token": token,
        "file": (io.BytesIO(content), "codes.txt"),
        "name": "spring",
        "vendor": "KeyVendor",
        "store_url": STORE,
        "keys_per_code": "2",
        "expires": FUTURE,
    }
    data.update(fields)
    return client.post("/admin/batches/upload", data=data, content_type="multipart/form-data")


def test_the_upload_carries_the_store_to_the_batch(app, admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"R-0001\n\nR-0002\n  \nR-0003\n\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "3 blank lines skipped" in html
    assert f'href="{STORE.replace("&", "&amp;")}"' in html
    token = re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)
    confirmed = admin_client.post(
        "/admin/batches/confirm",
        data={"csrf_token": csrf_token(admin_client, "/admin/batches"), "token": token},
    )
    assert confirmed.status_code == 303
    with app.app_context():
        batch = db.session().scalar(select(PromoBatch))
        assert batch.store_url == STORE and batch.code_count == 3
    page = admin_client.get("/admin/batches").get_data(as_text=True)
    assert STORE.replace("&", "&amp;") in page


def test_a_bad_store_address_is_refused_and_nothing_is_written(app, admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"R-0001\n", store_url="http://keys.example.com/")
    assert response.status_code == 400
    assert "must start with https://" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(PromoBatch)) is None


def test_going_back_from_the_preview_keeps_what_was_entered(admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"R-0001\nR 0002\n", name="kept-batch", keys_per_code="3")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    back = re.search(r'href="([^"]+)"[^>]*>Back to the form<', html).group(1).replace("&amp;", "&")
    page = admin_client.get(back).get_data(as_text=True)
    assert "The details you entered are kept below" in page
    assert 'value="kept-batch"' in page
    assert 'value="KeyVendor"' in page
    assert f'value="{STORE.replace("&", "&amp;")}"' in page
    assert 'value="3"' in page
    assert f'value="{FUTURE}"' in page
    # A hand-made address with nonsense prefills nothing it cannot read.
    page = admin_client.get("/admin/batches?keys_per_code=99&expires=soon").get_data(as_text=True)
    assert 'value="99"' not in page and "soon" not in page


def test_the_command_takes_a_store_and_skips_blank_lines(app, runner, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "codes.txt"
    path.write_text("C-0001\n\nC-0002\n\n")
    result = runner.invoke(
        args=["load-codes", str(path), "--batch", "cli", "--expires", FUTURE, "--store-url", STORE]
    )
    assert result.exit_code == 0, result.output
    assert f"redeemed at {STORE}" in result.output and "2 blank lines skipped" in result.output
    with app.app_context():
        assert db.session().scalar(select(PromoBatch.store_url)) == STORE
    bad = runner.invoke(
        args=[
            "load-codes",
            str(path),
            "--batch",
            "cli-2",
            "--expires",
            FUTURE,
            "--store-url",
            "shop",
        ]
    )
    assert bad.exit_code != 0 and "must start with https://" in bad.output
    with app.app_context():
        assert db.session().scalar(select(PromoBatch).where(PromoBatch.name == "cli-2")) is None


# --- the maintainer's page and emails --------------------------------------------------


def test_the_code_panel_links_the_store_with_the_batch_in_the_same_query(app, client, auth):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["PANEL-1"], vendor="KeyVendor", store_url=STORE)
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "PANEL-1")
    auth.login("maria")
    statements: list[str] = []
    with app.app_context():
        engine = db.engine()

    def seen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        html = client.get("/giveaway").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert f'href="{STORE.replace("&", "&amp;")}"' in html
    assert "Redeem it at" in html and "KeyVendor" in html
    # The batch came with the code: no SELECT of promo_batches on its own.
    alone = [s for s in statements if "FROM promo_batches" in s and "promo_codes" not in s]
    assert alone == [], alone


def test_without_a_store_address_the_page_says_where_it_comes_from(app, client, auth):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["OLD-1"], vendor="KeyVendor")
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "OLD-1")
    auth.login("maria")
    html = client.get("/giveaway").get_data(as_text=True)
    assert "the vendor sends its address" in html


def test_the_receipt_links_the_store(any_app):  # type: ignore[no-untyped-def]
    app = any_app
    make_batch(app, codes=["MAIL-1"], vendor="KeyVendor", store_url=STORE)
    make_maintainer(app, "maria")
    client = app.test_client()
    AuthActions(client).login("maria")
    response = post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    assert response.status_code == 303
    [receipt] = outbox_for(app).to("maria@")
    text = outbox_for(app).text(receipt)
    assert "MAIL-1" in text and STORE in text
    html = receipt.get_body(preferencelist=("html",)).get_content()
    assert f'href="{STORE.replace("&", "&amp;")}"' in html


def test_the_reminder_links_the_store(app):  # type: ignore[no-untyped-def]
    now = clock.now()
    make_batch(app, codes=["SOON-1"], store_url=STORE, expires_at=now + timedelta(days=3))
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "SOON-1")
    with app.app_context():
        assert expiry.remind(db.session(), now, 7) == 1
        db.session().commit()
    [reminder] = outbox_for(app).to("maria@")
    text = outbox_for(app).text(reminder)
    assert STORE in text and "SOON-1" in text and "works until" in text
    with app.app_context():
        code = db.session().scalar(select(PromoCode))
        assert code.reminder_sent_at is not None
