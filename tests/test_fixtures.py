"""The test fixtures themselves: settings markers, factories through the services, `auth`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from giveaway import db
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.twofactor import status
from tests.factories import (
    add_keys,
    add_recovery_codes,
    enable_totp,
    events_of,
    make_batch,
    make_user,
    reload_user,
)

pytestmark = pytest.mark.config(SITE_NAME="Module-wide name", SUPPORT_EMAIL="module@example.org")


def test_module_marker_reaches_the_app(app):
    assert app.config["SITE_NAME"] == "Module-wide name"
    assert app.config["SUPPORT_EMAIL"] == "module@example.org"


@pytest.mark.config(SITE_NAME="Nearest name")
def test_the_nearest_marker_wins_and_the_others_still_count(app):
    assert app.config["SITE_NAME"] == "Nearest name"
    assert app.config["SUPPORT_EMAIL"] == "module@example.org"


@pytest.mark.config(SITE_NAME="On both databases")
def test_any_app_honours_the_marker(any_app):
    assert any_app.config["SITE_NAME"] == "On both databases"


@pytest.mark.postgres
@pytest.mark.config(SITE_NAME="On PostgreSQL")
def test_pg_app_honours_the_marker(pg_app):
    assert pg_app.config["SITE_NAME"] == "On PostgreSQL"


def test_a_batch_is_uploaded_through_the_pool(app):
    batch_id = make_batch(app, "spring", codes=["SPRING-0001", "SPRING-0002"], vendor="KeyShop")
    with app.app_context():
        batch = db.session().get(PromoBatch, batch_id)
        assert batch is not None and batch.code_count == 2 and batch.vendor == "KeyShop"
        codes = db.session().scalars(select(PromoCode.code).where(PromoCode.batch_id == batch_id))
        assert sorted(codes) == ["SPRING-0001", "SPRING-0002"]
    [event] = events_of(app, "claim:batch_uploaded")
    assert event.detail["batch"] == "spring" and event.detail["codes"] == 2


def test_a_batch_with_a_malformed_code_is_refused_by_the_pool_parser(app):
    with pytest.raises(AssertionError, match="characters other than letters"):
        make_batch(app, codes=["GOOD-1", "BAD CODE"])


def test_two_factor_states_come_from_the_service_and_their_mail_is_taken_back(app, outbox):
    make_user(app, "kim")
    add_keys(app, reload_user(app, "kim"), 2)
    enable_totp(app, reload_user(app, "kim"))
    codes = add_recovery_codes(app, reload_user(app, "kim"), 4)
    assert len(codes) == 4
    kim = reload_user(app, "kim")
    assert kim is not None and kim.first_2fa_enabled_at is not None
    with app.app_context():
        methods = status.methods(db.session(), kim)
    assert (methods.security_keys, methods.totp, methods.recovery_codes_left) == (2, True, 4)
    assert [e.detail["label"] for e in events_of(app, "2fa:key_added")] == ["key 0", "key 1"]
    assert len(events_of(app, "2fa:totp_enabled")) == 1
    assert len(outbox) == 0  # the set-up mail went out and was taken back
    assert app.config["RECOVERY_CODE_COUNT"] == 10  # the count was changed for one call only


def test_auth_signs_in_with_totp_and_out(app, client, auth):
    from tests.factories import make_admin

    make_admin(app, "root")
    auth.login_with_totp("root")
    assert client.get("/admin/").status_code == 200
    auth.logout()
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")


def test_auth_registers_an_account(app, auth):
    response = auth.register("newcomer")
    assert response.status_code == 302
    assert reload_user(app, "newcomer") is not None
