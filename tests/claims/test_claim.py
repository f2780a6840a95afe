"""The claim on each database: one code each, earliest expiry first, never a dead code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import claim
from giveaway.claims.models import PromoCode, mask
from giveaway.events.models import Event
from tests.factories import make_batch, make_maintainer


def _claim(app, user_id):  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        user = session.get(User, user_id)
        result = claim.claim(session, user, clock.now())
        db.commit()
        return result.status, (result.code.code if result.code else None)


def test_claim_gives_one_code_and_the_same_one_again(any_app):
    make_batch(any_app, count=3)
    user = make_maintainer(any_app)
    status, code = _claim(any_app, user.id)
    assert status == "claimed" and code
    for _ in range(3):
        assert _claim(any_app, user.id) == ("already", code)
    with any_app.app_context():
        assert claim.claimed_code(db.session(), user).code == code
        events = db.session().scalars(select(Event).where(Event.kind == "claim:claimed")).all()
        assert len(events) == 1
        assert events[0].detail["code"] == mask(code) != code


def test_earliest_expiring_batch_goes_first(any_app):
    make_batch(any_app, "late", codes=["LATE-1"], expires_in=timedelta(days=90))
    make_batch(any_app, "early", codes=["EARLY-1"], expires_in=timedelta(days=10))
    make_batch(any_app, "middle", codes=["MID-1"], expires_in=timedelta(days=30))
    got = [_claim(any_app, make_maintainer(any_app, f"u{i}").id)[1] for i in range(4)]
    assert got == ["EARLY-1", "MID-1", "LATE-1", None]


def test_never_an_expired_or_voided_code_even_before_the_job_ran(any_app):
    now = clock.now()
    make_batch(any_app, "past", codes=["PAST-1", "PAST-2"], expires_at=now - timedelta(seconds=1))
    batch = make_batch(any_app, "live", codes=["VOID-1", "MARKED-1", "GOOD-1"])
    with any_app.app_context():
        session = db.session()
        codes = {c.code: c for c in session.scalars(select(PromoCode))}
        codes["VOID-1"].voided_at = now
        codes["VOID-1"].void_reason = "leaked"
        codes["MARKED-1"].expired_at = now
        session.commit()
    assert batch
    first = make_maintainer(any_app, "first")
    second = make_maintainer(any_app, "second")
    assert _claim(any_app, first.id) == ("claimed", "GOOD-1")
    assert _claim(any_app, second.id) == ("empty", None)


def test_expiry_moment_uses_the_clock(any_app):
    now = clock.now()
    make_batch(any_app, codes=["SOON-1"], expires_at=now + timedelta(hours=1))
    user = make_maintainer(any_app)
    any_app.config["CLOCK"] = lambda: now + timedelta(hours=1)
    assert _claim(any_app, user.id) == ("empty", None)
    any_app.config["CLOCK"] = lambda: now + timedelta(minutes=59)
    assert _claim(any_app, user.id) == ("claimed", "SOON-1")


def test_receipt_email_has_the_code_and_the_setup_link(app, outbox):
    make_batch(app, codes=["RECEIPT-42"], keys_per_code=2)
    user = make_maintainer(app)
    _claim(app, user.id)
    (message,) = outbox.to(user.email)
    body = outbox.text(message)
    assert "RECEIPT-42" in body
    assert "/giveaway/setup" in body
    assert "2 keys" in body
    _claim(app, user.id)
    assert len(outbox.to(user.email)) == 1


def test_unique_claimant_is_the_backstop(any_app):
    """Even a statement that skips the NOT EXISTS guard cannot give one person two codes."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    make_batch(any_app, codes=["A-1", "A-2"])
    user = make_maintainer(any_app)
    _claim(any_app, user.id)
    with any_app.app_context():
        session = db.session()
        with pytest.raises(IntegrityError):
            session.execute(
                update(PromoCode)
                .where(PromoCode.code == "A-2")
                .values(claimed_by_id=user.id, claimed_at=clock.now())
            )
            session.flush()
        session.rollback()
