"""The rule "this maintainer could still claim the free keys" (what turning on 2FA would
give up): the Python property, the SQL form and the one-user query agree, on SQLite and
PostgreSQL, for every state that can still change and every one that cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import eligibility
from tests.factories import (
    OLD_ACCOUNT,
    claim_for,
    make_batch,
    make_maintainer,
    make_project,
    make_user,
    set_clock,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CUTOFF = "2025-01-01"

# username -> could still claim (with codes in the pool, the giveaway open)
EXPECTED = {
    "eligible": True,
    "unverified": True,  # the email can still be verified
    "not-critical": False,
    "had-2fa": False,  # removing 2FA never makes anyone eligible again
    "has-totp": False,
    "too-new": False,  # the cut-off does not move
    "claimed": False,  # nothing left to lose: the code is theirs
}


def _world(app):  # type: ignore[no-untyped-def]
    set_clock(app, NOW)
    app.config["GIVEAWAY_ACCOUNT_CUTOFF"] = CUTOFF
    make_maintainer(app, "eligible")
    make_maintainer(app, "unverified", email_verified_at=None)
    quiet = make_user(app, "not-critical", created_at=OLD_ACCOUNT)
    make_project(app, "quiet", maintainers=[(quiet, "Owner")])
    make_maintainer(app, "had-2fa", first_2fa_enabled_at=OLD_ACCOUNT)
    make_maintainer(app, "has-totp", totp_secret="JBSWY3DPEHPK3PXP")
    make_maintainer(app, "too-new", created_at=datetime(2025, 6, 1, tzinfo=UTC))
    claimed = make_maintainer(app, "claimed")
    batch = make_batch(app, count=3)
    claim_for(app, batch, claimed, NOW - timedelta(days=1))
    return batch


def _answers(app):  # type: ignore[no-untyped-def]
    """username -> (property of the check, SQL over every user, the one-user query)."""
    with app.app_context():
        session = db.session()
        now = clock.now()
        rule = eligibility.could_still_claim_sql(
            eligibility.account_cutoff(), eligibility.window().state(now)
        )
        by_sql = set(session.scalars(select(User.username).where(rule)))
        found = {}
        for user in session.scalars(select(User)):
            result = eligibility.check(session, user, now)
            found[user.username] = (
                result.could_still_claim,
                user.username in by_sql,
                eligibility.could_still_claim(session, user, now),
            )
        return found


def _assert_agree(app, expected):  # type: ignore[no-untyped-def]
    answers = _answers(app)
    for name, want in expected.items():
        assert answers[name] == (want, want, want), name


def test_each_state_on_both_databases(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    _assert_agree(any_app, EXPECTED)


def test_an_empty_pool_keeps_the_keys_at_stake(any_app):  # type: ignore[no-untyped-def]
    """Codes come back (unused ones, new batches): an empty pool is not final."""
    batch = _world(any_app)
    for name in ("first", "second"):
        claim_for(any_app, batch, make_user(any_app, f"taker-{name}"), NOW)
    with any_app.app_context():
        assert not eligibility.codes_available(db.session(), NOW)
    _assert_agree(any_app, EXPECTED)


@pytest.mark.parametrize(
    ("opens", "closes", "at_stake"),
    [
        ("2026-04-01T00:00:00Z", "", True),  # not open yet: it will open
        ("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z", False),  # over for good
        ("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z", True),
    ],
    ids=["before", "closed", "open"],
)
def test_the_window(any_app, opens, closes, at_stake):  # type: ignore[no-untyped-def]
    any_app.config.update(GIVEAWAY_OPENS_AT=opens, GIVEAWAY_CLOSES_AT=closes)
    _world(any_app)
    expected = {name: want and at_stake for name, want in EXPECTED.items()}
    _assert_agree(any_app, expected)


def test_signed_out_visitors_have_nothing_at_stake(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        assert not eligibility.check(db.session(), None, clock.now()).could_still_claim


def test_why_the_keys_are_out_of_reach(app):  # type: ignore[no-untyped-def]
    _world(app)
    with app.app_context():
        session = db.session()
        reasons = {
            u.username: [c.key for c in eligibility.check(session, u, NOW).out_of_reach]
            for u in session.scalars(select(User))
        }
    assert reasons["eligible"] == [] and reasons["unverified"] == []
    assert reasons["had-2fa"] == ["no_2fa"]
    assert reasons["too-new"] == ["account_age"]
    assert reasons["claimed"] == ["not_claimed"]
