"""The eligibility criteria about the account, as SQL (what the dashboard's funnel
composes), select exactly the users `eligibility.check` passes, criterion by
criterion, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import and_, select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.claims import eligibility
from tests.conftest import make_user
from tests.factories import make_project

CUTOFF = datetime(2026, 1, 1, tzinfo=UTC)
OLD = datetime(2020, 1, 1, tzinfo=UTC)
KEYS = ("critical", "no_2fa", "email", "account_age")


def _world(app):  # type: ignore[no-untyped-def]
    """One user failing each criterion (and some failing several), one passing all."""
    users = [
        make_user(app, "eligible", created_at=OLD),
        make_user(app, "not-critical", created_at=OLD),
        make_user(app, "ordinary-role", created_at=OLD),
        make_user(app, "has-totp", created_at=OLD, totp_secret="JBSWY3DPEHPK3PXP"),
        make_user(app, "had-2fa", created_at=OLD, first_2fa_enabled_at=OLD),
        make_user(app, "unverified", created_at=OLD, email_verified_at=None),
        make_user(app, "too-new", created_at=CUTOFF),
        make_user(app, "newer", created_at=datetime(2026, 2, 1, tzinfo=UTC)),
        make_user(
            app, "all-wrong", created_at=CUTOFF, email_verified_at=None, first_2fa_enabled_at=OLD
        ),
    ]
    by_name = {u.username: u for u in users}
    critical = [u for u in users if u.username not in ("not-critical", "ordinary-role")]
    make_project(app, "critical", critical=True, maintainers=[(u, "Owner") for u in critical])
    make_project(app, "ordinary", maintainers=[(by_name["ordinary-role"], "Owner")])
    return users


@pytest.mark.parametrize("cutoff", [CUTOFF, None], ids=["cutoff", "no-cutoff"])
def test_each_criterion_agrees_with_the_check(any_app, cutoff):  # type: ignore[no-untyped-def]
    any_app.config["GIVEAWAY_ACCOUNT_CUTOFF"] = cutoff.isoformat() if cutoff else ""
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        criteria = eligibility.account_criteria(eligibility.account_cutoff())
        assert set(criteria) == set(KEYS)
        users = session.scalars(select(User)).all()
        results = {u.username: eligibility.check(session, u, datetime.now(UTC)) for u in users}
        for key in KEYS:
            by_sql = set(session.scalars(select(User.username).where(criteria[key])))
            by_python = {name for name, r in results.items() if r.get(key).passed}
            assert by_sql == by_python, key
        together = set(session.scalars(select(User.username).where(and_(*criteria.values()))))
    assert together == {name for name, r in results.items() if all(r.get(k).passed for k in KEYS)}
    expected = {"eligible"} if cutoff else {"eligible", "too-new", "newer"}
    assert together == expected
