"""A code's lifecycle: the SQL form of every state selects exactly the codes its
Python form accepts, on SQLite and PostgreSQL, over a table of every state."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex

from giveaway import db
from giveaway.claims import lifecycle, pool
from giveaway.claims.models import PromoBatch, PromoCode
from tests.conftest import make_user

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
EARLIER = NOW - timedelta(days=1)

# name: (claimed, voided_at, expired_at, expires_at) — every state, and the edges
# between them (a code expiring at this very instant, a code past its date that the
# job has not marked yet, a claimed code whose batch expired since).
CODES = {
    "fresh": (False, None, None, LATER),
    "claimed": (True, None, None, LATER),
    "claimed-batch-expired": (True, None, None, EARLIER),
    "expires-now": (False, None, None, NOW),
    "expired-by-date": (False, None, None, EARLIER),
    "expired-by-job": (False, None, EARLIER, EARLIER),
    "marked-expired-early": (False, None, EARLIER, LATER),
    "voided": (False, EARLIER, None, LATER),
    "voided-past-date": (False, EARLIER, None, EARLIER),
    "voided-and-marked": (False, EARLIER, EARLIER, EARLIER),
    "just-in-date": (False, None, None, NOW + timedelta(microseconds=1)),
}

PREDICATES = {
    "is_claimed": lambda cls: cls.is_claimed,
    "is_voided": lambda cls: cls.is_voided,
    "in_pool": lambda cls: cls.in_pool,
    "is_past_expiry": lambda cls: cls.is_past_expiry(NOW),
    "is_usable": lambda cls: cls.is_usable(NOW),
    "is_available": lambda cls: cls.is_available(NOW),
    "is_due_to_expire": lambda cls: cls.is_due_to_expire(NOW),
}


def _world(app) -> None:  # type: ignore[no-untyped-def]
    claimants = [make_user(app, f"claimant{i}") for i in range(3)]
    with app.app_context():
        session = db.session()
        batches = {
            expires: PromoBatch(name=f"b-{i}", expires_at=expires, uploaded_at=EARLIER)
            for i, expires in enumerate(sorted({c[3] for c in CODES.values()}))
        }
        session.add_all(batches.values())
        session.flush()
        takers = iter(claimants)
        for name, (claimed, voided_at, expired_at, expires_at) in CODES.items():
            session.add(
                PromoCode(
                    code=name,
                    batch_id=batches[expires_at].id,
                    expires_at=expires_at,
                    claimed_by_id=next(takers).id if claimed else None,
                    claimed_at=EARLIER if claimed else None,
                    voided_at=voided_at,
                    expired_at=expired_at,
                )
            )
        session.commit()


@pytest.mark.parametrize("name", sorted(PREDICATES))
def test_sql_and_python_forms_agree(any_app, name):  # type: ignore[no-untyped-def]
    _world(any_app)
    predicate = PREDICATES[name]
    with any_app.app_context():
        session = db.session()
        by_sql = set(session.scalars(select(PromoCode.code).where(predicate(PromoCode))))
        by_python = {c.code for c in session.scalars(select(PromoCode)) if predicate(c)}
    assert by_sql == by_python
    # The table is worth something only if it has codes on both sides of every state.
    assert by_sql and by_sql != set(CODES)


def test_the_available_codes_are_the_ones_a_claim_may_take(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        taken = set(session.scalars(select(PromoCode.code).where(PromoCode.is_available(NOW))))
    assert taken == {"fresh", "just-in-date"}


def test_every_code_is_counted_in_one_state_both_ways(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        rows = session.execute(select(PromoCode, PromoCode.state(NOW))).all()
        for code, sql_state in rows:
            assert sql_state == code.state(NOW), code.code
        expected: dict[int, Counter[str]] = {}
        for code, _ in rows:
            expected.setdefault(code.batch_id, Counter())[code.state(NOW)] += 1
        counts = pool.batch_counts(session, NOW)
    assert counts == {
        batch_id: {state: per_state[state] for state in lifecycle.STATES}
        for batch_id, per_state in expected.items()
    }
    assert Counter(state for _, state in rows) == {
        "available": 2,
        "claimed": 2,
        "expired": 4,
        "voided": 3,
    }


def test_the_claim_index_covers_exactly_the_codes_in_the_pool():  # type: ignore[no-untyped-def]
    (index,) = [i for i in PromoCode.__table__.indexes if i.name == "ix_promo_codes_available"]
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        ddl = str(CreateIndex(index).compile(dialect=dialect))
        where = ddl.split(" WHERE ", 1)[1]
        expected = PromoCode.in_pool.compile(
            dialect=dialect, compile_kwargs={"include_table": False}
        )
        assert where == str(expected)
        assert where == "claimed_by_id IS NULL AND voided_at IS NULL AND expired_at IS NULL"


def test_a_code_leaves_the_pool_at_its_first_ending():  # type: ignore[no-untyped-def]
    code = PromoCode(
        code="x",
        expires_at=LATER,
        claimed_at=NOW,
        voided_at=None,
        expired_at=None,
    )
    assert code.left_pool_at() == NOW
    assert lifecycle.left_pool_at(None, None, None, LATER) == LATER
    assert lifecycle.left_pool_at(None, EARLIER, NOW, LATER) == EARLIER


def test_void_refuses_claimed_unknown_and_voided_codes(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        for value, message in [
            ("nope", "There is no such code."),
            ("voided", "This code is already voided."),
            ("claimed", "This code was claimed; a claimed code stays with its claimant."),
        ]:
            with pytest.raises(pool.VoidRefused) as refused:
                pool.void(session, value, "leaked", None, NOW)
            assert refused.value.message == message and not refused.value.conflict
        code = pool.void(session, " fresh ", " leaked on a forum ", None, NOW)
        session.commit()
        session.refresh(code)
        assert code.is_voided and code.void_reason == "leaked on a forum"
        assert not code.is_available(NOW)
