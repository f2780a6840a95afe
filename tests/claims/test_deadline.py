"""A code's expiry date is the END of that day in the giveaway's time zone, said one way.

The day an admin enters is stored as the exact instant it ends (deadline.py);
the pool's SQL (lifecycle.py), the loaded code's check, the claim and the
expiry job all agree on it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from giveaway import create_app, db
from giveaway.claims import deadline, expiry, pool
from giveaway.claims.models import PromoCode
from giveaway.settings import SettingsError
from tests.conftest import csrf_token, post_form
from tests.factories import TEST_PASSWORD, make_admin, make_batch, make_maintainer, set_clock

BERLIN = ZoneInfo("Europe/Berlin")
LAST_DAY = "2027-01-11"
# The last second of 11 January in Berlin (UTC+1 in winter), and the first of the 12th.
LAST_SECOND = datetime(2027, 1, 11, 23, 59, 59, tzinfo=BERLIN)
NEXT_DAY = datetime(2027, 1, 12, 0, 0, tzinfo=BERLIN)


def test_a_day_ends_at_midnight_in_the_zone():
    assert deadline.expiry_from_input(LAST_DAY, BERLIN) == datetime(2027, 1, 11, 23, tzinfo=UTC)
    assert deadline.expiry_from_input(LAST_DAY, ZoneInfo("UTC")) == datetime(
        2027, 1, 12, tzinfo=UTC
    )
    # West of UTC the day ends after midnight UTC.
    assert deadline.expiry_from_input(LAST_DAY, ZoneInfo("America/New_York")) == datetime(
        2027, 1, 12, 5, tzinfo=UTC
    )
    # A date and time with no zone is read in the giveaway's zone; with one, as given.
    assert deadline.expiry_from_input("2027-01-11T18:00", BERLIN) == datetime(
        2027, 1, 11, 17, tzinfo=UTC
    )
    assert deadline.expiry_from_input("2027-01-11T18:00+00:00", BERLIN) == datetime(
        2027, 1, 11, 18, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        deadline.expiry_from_input("soon", BERLIN)


def test_days_when_the_clocks_change_end_at_their_own_midnight():
    # 28 March 2027: Berlin moves from UTC+1 to UTC+2 during the night.
    end = deadline.end_of_day(date(2027, 3, 28), BERLIN)
    assert end == datetime(2027, 3, 28, 22, tzinfo=UTC)
    assert deadline.last_day(end, BERLIN) == date(2027, 3, 28)
    # 31 October 2027: back to UTC+1; the day has 25 hours.
    end = deadline.end_of_day(date(2027, 10, 31), BERLIN)
    assert end == datetime(2027, 10, 31, 23, tzinfo=UTC)


@pytest.mark.config(GIVEAWAY_TIMEZONE="Europe/Berlin")
def test_it_is_said_the_same_way_everywhere(app):
    with app.app_context():
        end = pool.expiry_from_date(LAST_DAY)
        assert deadline.describe(end) == "the end of 11 January 2027 (Europe/Berlin time)"
        assert deadline.describe(end, short=True) == "end of 2027-01-11 (Europe/Berlin time)"
        odd = datetime(2027, 1, 11, 13, 30, tzinfo=UTC)
        assert deadline.describe(odd) == "14:30 on 11 January 2027 (Europe/Berlin time)"
        assert deadline.describe(None) == "—"
    with create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).app_context():
        assert deadline.describe(datetime(2027, 1, 12, tzinfo=UTC)) == (
            "the end of 11 January 2027 (UTC)"
        )


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "../../etc/passwd", 5])
def test_an_unknown_time_zone_refuses_to_start(name):  # type: ignore[no-untyped-def]
    with pytest.raises(SettingsError, match="GIVEAWAY_TIMEZONE"):
        create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "GIVEAWAY_TIMEZONE": name})


def _available(app, now: datetime) -> tuple[int, bool]:  # type: ignore[no-untyped-def]
    """The pool's SQL and the loaded code's own check, at `now`."""
    with app.app_context():
        session = db.session()
        in_sql = session.scalar(select(func.count()).where(PromoCode.is_available(now)))
        code = session.scalar(select(PromoCode).where(PromoCode.code == "LAST-DAY-1"))
        return in_sql or 0, code.is_available(now)


@pytest.mark.config(GIVEAWAY_TIMEZONE="Europe/Berlin")
def test_the_last_day_is_usable_to_its_last_second(any_app):  # type: ignore[no-untyped-def]
    app = any_app
    with app.app_context():
        ends = pool.expiry_from_date(LAST_DAY)
    make_batch(app, "winter", codes=["LAST-DAY-1"], expires_at=ends)
    # What main did (00:00 UTC of the day shown) would already be over here.
    assert _available(app, datetime(2027, 1, 11, 12, tzinfo=UTC)) == (1, True)
    assert _available(app, LAST_SECOND) == (1, True)
    assert _available(app, NEXT_DAY) == (0, False)
    with app.app_context():
        session = db.session()
        assert expiry.expire(session, LAST_SECOND) == 0
        assert expiry.expire(session, NEXT_DAY) == 1
        code = session.scalar(select(PromoCode))
        assert code.is_past_expiry(NEXT_DAY) and code.state(NEXT_DAY) == "expired"
        session.rollback()


@pytest.mark.config(GIVEAWAY_TIMEZONE="Europe/Berlin")
def test_a_claim_in_the_last_second_gets_the_code(any_app):  # type: ignore[no-untyped-def]
    app = any_app
    with app.app_context():
        ends = pool.expiry_from_date(LAST_DAY)
    make_batch(app, "winter", codes=["LAST-DAY-1"], expires_at=ends)
    make_maintainer(app, "maria")
    make_maintainer(app, "late")
    set_clock(app, LAST_SECOND)
    client = app.test_client()
    post_form(client, "/account/login", {"username": "maria", "password": TEST_PASSWORD})
    post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    page = client.get("/giveaway").get_data(as_text=True)
    assert "LAST-DAY-1" in page
    assert "the end of 11 January 2027 (Europe/Berlin time)" in page
    set_clock(app, NEXT_DAY)
    page = client.get("/giveaway").get_data(as_text=True)
    assert "This code expired at the end of 11 January 2027 (Europe/Berlin time)" in page
    late = app.test_client()
    post_form(late, "/account/login", {"username": "late", "password": TEST_PASSWORD})
    refused = post_form(late, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    assert refused.status_code == 409


@pytest.mark.config(GIVEAWAY_TIMEZONE="Europe/Berlin")
def test_the_upload_form_takes_the_last_day(app, client, auth):  # type: ignore[no-untyped-def]
    make_admin(app, "root")
    auth.login_with_totp("root")
    page = client.get("/admin/batches").get_data(as_text=True)
    assert "Last day the codes can be used" in page
    assert "until the end of this day, Europe/Berlin time" in page
    future = (datetime.now(UTC) + timedelta(days=400)).date()
    response = _upload(client, future.isoformat())
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert f"the end of {future.day} {future:%B %Y} (Europe/Berlin time)" in html


def _upload(client, expires: str, **fields: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/admin/batches")
    return client.post(
        "/admin/batches/upload",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(b"TZ-0001\nTZ-0002\n"), "codes.txt"),
            "name": "tz-batch",
            "vendor": "KeyVendor",
            "keys_per_code": "2",
            "expires": expires,
            **fields,
        },
        content_type="multipart/form-data",
    )
