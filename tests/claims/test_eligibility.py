"""Eligibility as a table: each row changes one thing about an otherwise eligible maintainer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import eligibility
from giveaway.claims.models import PromoCode
from giveaway.projects.models import Project
from tests.factories import make_batch, make_project, make_user

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = datetime(2020, 1, 1, tzinfo=UTC)


def _setup(app, case: str):  # type: ignore[no-untyped-def]
    """An eligible maintainer, then the one change `case` names; returns the user id."""
    app.config["CLOCK"] = lambda: NOW
    fields: dict[str, object] = {"created_at": OLD}
    if case == "2fa_now":
        fields.update(totp_secret="JBSWY3DPEHPK3PXP", first_2fa_enabled_at=OLD)
    if case == "2fa_removed":
        fields.update(first_2fa_enabled_at=OLD)  # enabled once, removed since
    if case == "totp_without_date":
        fields.update(totp_secret="JBSWY3DPEHPK3PXP")
    if case == "unverified":
        fields.update(email_verified_at=None)
    if case == "too_new":
        fields.update(created_at=NOW - timedelta(days=1))
    user = make_user(app, "maria", **fields)
    if case == "not_critical":
        make_project(app, "quiet-lib", maintainers=[(user, "Owner")], critical=False)
    elif case == "maintainer_role":
        make_project(app, "big-lib", maintainers=[(user, "Maintainer")], critical=True)
    elif case != "no_projects":
        make_project(app, "big-lib", maintainers=[(user, "Owner")], critical=True)
        make_project(app, "quiet-lib", maintainers=[(user, "Owner")], critical=False)
    app.config["GIVEAWAY_ACCOUNT_CUTOFF"] = "2026-05-01"
    if case == "before_open":
        app.config["GIVEAWAY_OPENS_AT"] = "2026-07-01T00:00:00+00:00"
    if case == "after_close":
        app.config["GIVEAWAY_CLOSES_AT"] = "2026-05-31"
    if case != "empty_pool":
        make_batch(app, count=2, expires_at=NOW + timedelta(days=30))
    else:
        # Codes exist, but none usable: expired by date, marked expired, voided.
        make_batch(app, codes=["DEAD-1"], expires_at=NOW)
        make_batch(app, codes=["DEAD-2", "DEAD-3"], expires_at=NOW + timedelta(days=9))
        with app.app_context():
            session = db.session()
            for code in session.query(PromoCode).filter(PromoCode.code.in_(["DEAD-2", "DEAD-3"])):
                if code.code == "DEAD-2":
                    code.expired_at = NOW
                else:
                    code.voided_at = NOW
            session.commit()
    if case == "already_claimed":
        with app.app_context():
            session = db.session()
            code = session.query(PromoCode).first()
            code.claimed_by_id = user.id
            code.claimed_at = NOW
            session.commit()
    return user.id


# case, the check that fails (None: eligible)
TABLE = [
    ("eligible", None),
    ("maintainer_role", None),
    ("no_projects", "critical"),
    ("not_critical", "critical"),
    ("2fa_now", "no_2fa"),
    ("2fa_removed", "no_2fa"),
    ("totp_without_date", "no_2fa"),
    ("unverified", "email"),
    ("too_new", "account_age"),
    ("already_claimed", "not_claimed"),
    ("empty_pool", "codes_remain"),
    ("before_open", "open"),
    ("after_close", "open"),
]


@pytest.mark.parametrize(("case", "failing"), TABLE)
def test_eligibility_table(app, case, failing):  # type: ignore[no-untyped-def]
    uid = _setup(app, case)
    with app.app_context():
        session = db.session()
        result = eligibility.check(session, session.get(User, uid), clock.now())
    assert [c.key for c in result.failed] == ([failing] if failing else [])
    assert result.eligible is (failing is None)
    for c in result.checks:
        assert c.reason, c.key
    if failing:
        assert result.get(failing).reason
    if case == "eligible":
        assert result.critical_projects == ["big-lib"]
        assert "big-lib" in result.get("critical").reason
        assert "quiet-lib" not in result.get("critical").reason
    if case == "already_claimed":
        assert result.claimed is not None
    if case == "empty_pool":
        assert result.only_pool_empty


def test_signed_out_has_no_failure_only_checks_to_come(app):  # type: ignore[no-untyped-def]
    make_batch(app)
    with app.app_context():
        result = eligibility.check(db.session(), None, clock.now())
    # Not signed in is not known yet, not a failure: "sign in to check".
    assert result.failed == []
    assert not result.eligible
    pending = [c.key for c in result.checks if c.passed is None]
    assert pending == ["signed_in", "critical", "no_2fa", "email", "account_age", "not_claimed"]
    assert result.get("signed_in").reason.startswith("Sign in to check")


def test_critical_status_is_read_live(app):  # type: ignore[no-untyped-def]
    user = make_user(app, "maria", created_at=OLD)
    make_project(app, "late-bloomer", maintainers=[(user, "Owner")])
    make_batch(app)
    with app.app_context():
        session = db.session()
        assert not eligibility.check(session, session.get(User, user.id), clock.now()).eligible
        session.query(Project).update({"critical_since": clock.now()})
        session.commit()
        assert eligibility.check(session, session.get(User, user.id), clock.now()).eligible


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("GIVEAWAY_OPENS_AT", "next tuesday"),
        ("GIVEAWAY_ACCOUNT_CUTOFF", "2026-13-01"),
        ("ELIGIBLE_REGIONS", ["US", "XX"]),
    ],
)
def test_bad_settings_stop_the_start(tmp_path, sqlite_template, setting, value):  # type: ignore[no-untyped-def]
    from giveaway.settings import SettingsError
    from tests.conftest import make_sqlite_app

    with pytest.raises(SettingsError, match=setting):
        make_sqlite_app(tmp_path, sqlite_template, **{setting: value})


def test_region_decision(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        assert eligibility.ships_to("DE")
        assert not eligibility.ships_to("other")
        assert not eligibility.ships_to("BR")
        app.config["ELIGIBLE_REGIONS"] = "br, de"
        assert eligibility.ships_to("BR")
