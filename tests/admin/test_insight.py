"""The dashboard's figures on known data: exact numbers, both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from giveaway import db
from giveaway.admin import insight
from giveaway.admin.models import AdoptionSnapshot
from giveaway.claims.models import PromoBatch, PromoCode
from tests.conftest import AuthActions
from tests.factories import FUNNEL_NOW as NOW
from tests.factories import claim_for, funnel_world, make_admin, make_batch, make_user, set_clock


def test_funnel_counts_each_stage(any_app):
    funnel_world(any_app)
    with any_app.app_context():
        funnel = insight.funnel(db.session(), NOW)
    assert funnel == insight.Funnel(
        eligible=4, claimed=3, first_key=3, second_key=2, recovery_codes=1
    )
    assert [label for label, _ in funnel.stages()][0] == "Eligible maintainers"


def test_adoption_by_method(any_app):
    funnel_world(any_app)
    with any_app.app_context():
        figures = insight.adoption(db.session())
    assert figures == insight.Adoption(
        maintainers=7, with_key=3, with_totp=2, with_both=1, with_any=4
    )
    assert figures.without == 3
    assert figures.key_only == 2 and figures.totp_only == 1
    assert dict(figures.breakdown())["None"] == 3


def test_funnel_without_cutoff_counts_new_accounts(app):
    funnel_world(app)
    app.config["GIVEAWAY_ACCOUNT_CUTOFF"] = ""
    with app.app_context():
        assert insight.funnel(db.session(), NOW).eligible == 5


def test_funnel_is_one_query(app):
    funnel_world(app)
    from sqlalchemy import event

    statements = []
    with app.app_context():
        engine = db.engine()

        def count(*args, **kwargs):  # type: ignore[no-untyped-def]
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            insight.funnel(db.session(), NOW)
            insight.adoption(db.session())
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2


def test_snapshot_is_one_row_a_day(any_app):
    world = funnel_world(any_app)
    runner = any_app.test_cli_runner()
    result = runner.invoke(args=["snapshot-adoption"])
    assert result.exit_code == 0, result.output
    assert "2026-03-10 recorded: 4 of 7 critical maintainers have 2FA" in result.output
    # Someone turns on TOTP the same day: running again updates that day's row.
    with any_app.app_context():
        session = db.session()
        session.execute(
            update(type(world.users["a"]))
            .where(type(world.users["a"]).username == "a")
            .values(totp_secret="JBSWY3DPEHPK3PXP")
        )
        session.commit()
    result = runner.invoke(args=["snapshot-adoption"])
    assert "2026-03-10 updated: 5 of 7" in result.output
    set_clock(any_app, NOW + timedelta(days=1))
    result = runner.invoke(args=["snapshot-adoption"])
    assert "2026-03-11 recorded" in result.output
    with any_app.app_context():
        rows = db.session().scalars(select(AdoptionSnapshot).order_by(AdoptionSnapshot.day)).all()
        assert [(r.day, r.with_any, r.with_totp) for r in rows] == [
            (date(2026, 3, 10), 5, 3),
            (date(2026, 3, 11), 5, 3),
        ]
        history = insight.adoption_history(db.session(), NOW + timedelta(days=1))
        assert len(history) == 2
        assert insight.adoption_rows(history)[0] == [date(2026, 3, 10), 7, 3, 3, 1, 5, 2]


def _pool_world(app):  # type: ignore[no-untyped-def]
    """Batch one (10 codes, uploaded 03-05): 2 claims on 03-06, 1 on 03-08, 1 void on 03-09.
    Batch two (4 codes, uploaded 03-05) expires 03-07 00:00 unclaimed: still in the pool
    at the end of 03-06, gone at the end of 03-07."""
    set_clock(app, NOW)
    one = make_batch(app, "one", count=10, expires_at=NOW + timedelta(days=10))
    two = make_batch(app, "two", count=4, expires_at=datetime(2026, 3, 7, tzinfo=UTC))
    with app.app_context():
        session = db.session()
        session.execute(update(PromoBatch).values(uploaded_at=datetime(2026, 3, 5, 10, tzinfo=UTC)))
        session.commit()
    users = [make_user(app, f"u{i}") for i in range(3)]
    claim_for(app, one, users[0], datetime(2026, 3, 6, 9, tzinfo=UTC))
    claim_for(app, one, users[1], datetime(2026, 3, 6, 23, 59, tzinfo=UTC))
    claim_for(app, one, users[2], datetime(2026, 3, 8, 0, 0, tzinfo=UTC))
    with app.app_context():
        session = db.session()
        free = session.scalar(
            select(func.max(PromoCode.id)).where(
                PromoCode.batch_id == one, PromoCode.claimed_by_id.is_(None)
            )
        )
        session.execute(
            update(PromoCode)
            .where(PromoCode.id == free)
            .values(voided_at=datetime(2026, 3, 9, 8, tzinfo=UTC))
        )
        session.commit()
    return one, two


def test_claims_per_day_and_burn_down(any_app):
    _pool_world(any_app)
    with any_app.app_context():
        session = db.session()
        claims = insight.claims_per_day(session, NOW)
        burn = insight.burn_down(session, NOW)
    days = [date(2026, 3, d) for d in range(5, 11)]
    assert claims == list(zip(days, [0, 2, 0, 1, 0, 0], strict=True))
    assert burn == list(zip(days, [14, 12, 8, 7, 6, 6], strict=True))


def test_pool_per_batch(any_app):
    one, two = _pool_world(any_app)
    with any_app.app_context():
        rows = insight.pool(db.session(), NOW)
    assert [(r.name, r.available, r.claimed, r.expired, r.voided, r.days_left) for r in rows] == [
        ("two", 0, 0, 4, 0, -4),
        ("one", 6, 3, 0, 1, 10),
    ]
    assert rows[1].total == 10


def test_nothing_yet_is_empty(app):
    with app.app_context():
        session = db.session()
        assert insight.claims_per_day(session, NOW) == []
        assert insight.burn_down(session, NOW) == []
        assert insight.pool(session, NOW) == []
        assert insight.funnel(session, NOW).eligible == 0


SVG_RE = re.compile(r"<svg.*?</svg>", re.S)


def _plots(html: str) -> dict[str, str]:
    found = {}
    for svg in SVG_RE.findall(html):
        title = re.search(r"<title id=\"[^\"]*\">([^<]*)</title>", svg)
        if title:
            found[title.group(1)] = svg
    return found


def signed_in_admin(app, client):  # type: ignore[no-untyped-def]
    """Sign in first: TOTP codes follow the real clock, the tests' clock is set after."""
    make_admin(app, "root")
    assert AuthActions(client).login_with_totp("root").status_code == 302


def test_dashboard_plots_have_one_point_a_day(app, client):
    signed_in_admin(app, client)
    _pool_world(app)
    with app.app_context():
        session = db.session()
        for back in range(3):
            session.add(
                AdoptionSnapshot(
                    day=NOW.date() - timedelta(days=back),
                    maintainers=10,
                    with_key=back,
                    with_totp=1,
                    with_both=0,
                    with_any=back + 1,
                )
            )
        session.commit()
    response = client.get("/admin/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    plots = _plots(html)
    assert plots["Claims per day"].count("<circle") == 6
    assert plots["Codes available over time"].count("<circle") == 6
    # Three series (any, key, app) over three snapshots.
    assert plots["2FA among critical maintainers"].count("<circle") == 9
    assert plots["From eligible to protected"].count("<rect") == 5
    # Text alternatives: a table beside each plot.
    assert html.count('<details class="plot-table">') == 3
    assert '<th scope="row">2026-03-06</th><td>2</td><td>12</td>' in html
    assert 'role="img"' in html


def test_dashboard_without_data(app, client):
    signed_in_admin(app, client)
    html = client.get("/admin/").get_data(as_text=True)
    assert "No data yet" in html and "No promo codes yet" in html


@pytest.mark.parametrize(
    "path, header",
    [
        ("/admin/pool.csv", "batch,vendor,expires_at,days_left,available,claimed,expired,voided"),
        ("/admin/funnel.csv", "stage,maintainers"),
        ("/admin/adoption.csv", ",".join(insight.ADOPTION_HEADER)),
        ("/admin/over-time.csv", "day,claims,codes_available"),
    ],
)
def test_figures_as_csv(app, client, path, header):
    signed_in_admin(app, client)
    _pool_world(app)
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines()[0] == header
    assert "attachment" in response.headers["Content-Disposition"]


def test_pool_csv_is_formula_safe(app, client):
    signed_in_admin(app, client)
    set_clock(app, NOW)
    make_batch(app, "=HYPERLINK(1)", count=1, vendor="+evil")
    lines = client.get("/admin/pool.csv").get_data(as_text=True).splitlines()
    assert lines[1].startswith("'=HYPERLINK(1),'+evil,")
