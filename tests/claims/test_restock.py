"""Asking to be told when codes return: only the empty pool may hold the person back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import eligibility, restock
from giveaway.claims.models import RestockRequest
from tests.conftest import make_user
from tests.factories import make_batch, make_maintainer


def test_only_those_held_back_by_the_pool_alone_may_ask(app):  # type: ignore[no-untyped-def]
    maria = make_maintainer(app, "maria")
    stranger = make_user(app, "stranger")
    maria_id = maria.id
    with app.app_context():
        session = db.session()
        now = clock.now()
        maria, stranger = session.get(User, maria.id), session.get(User, stranger.id)
        with pytest.raises(restock.NotHeldBackByThePool) as refused:
            restock.ask(session, stranger, eligibility.check(session, stranger, now), now)
        assert not refused.value.codes_available
        restock.ask(session, maria, eligibility.check(session, maria, now), now)
        restock.ask(session, maria, eligibility.check(session, maria, now), now)
        session.commit()
        assert restock.is_waiting(session, maria) and not restock.is_waiting(session, stranger)
        assert session.scalar(select(func.count()).select_from(RestockRequest)) == 1
    make_batch(app, count=1, expires_in=timedelta(days=3))
    with app.app_context():
        session = db.session()
        maria = session.get(User, maria_id)
        now = clock.now()
        with pytest.raises(restock.NotHeldBackByThePool) as refused:
            restock.ask(session, maria, eligibility.check(session, maria, now), now)
        assert refused.value.codes_available
