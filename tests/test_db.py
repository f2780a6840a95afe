"""The database layer: one session per request, committed at the boundary; UTC times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from flask import abort

from giveaway import db
from giveaway.accounts.models import User
from giveaway.events.models import Event


def _count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(sa.select(sa.func.count()).select_from(model))


def test_request_writes_are_committed_at_the_end(any_app):
    @any_app.post("/t/write")
    def write():  # type: ignore[no-untyped-def]
        db.session().add(User(username="w", email="w@example.org"))
        return "ok"

    any_app.config["WTF_CSRF_ENABLED"] = False
    assert any_app.test_client().post("/t/write").status_code == 200
    assert _count(any_app, User) == 1


def test_a_failed_request_leaves_nothing_behind(any_app):
    @any_app.post("/t/crash")
    def crash():  # type: ignore[no-untyped-def]
        db.session().add(User(username="half", email="half@example.org"))
        db.session().flush()
        raise RuntimeError("after writing")

    any_app.config["WTF_CSRF_ENABLED"] = False
    assert any_app.test_client().post("/t/crash").status_code == 500
    assert _count(any_app, User) == 0


def test_a_refused_request_keeps_its_audit_event(any_app):
    """A 4xx answer may carry writes worth keeping, such as a failed sign-in event."""

    @any_app.post("/t/refuse")
    def refuse():  # type: ignore[no-untyped-def]
        from giveaway.events import service as events

        events.record(db.session(), "test:refused")
        abort(403)

    any_app.config["WTF_CSRF_ENABLED"] = False
    assert any_app.test_client().post("/t/refuse").status_code == 403
    assert _count(any_app, Event) == 1


def test_transactional_commands_commit_or_roll_back(any_app):
    @db.transactional
    def good() -> None:
        db.session().add(User(username="good", email="good@example.org"))

    @db.transactional
    def bad() -> None:
        db.session().add(User(username="bad", email="bad@example.org"))
        db.session().flush()
        raise ValueError("stop")

    with any_app.app_context():
        good()
    with any_app.app_context(), pytest.raises(ValueError):
        bad()
    assert _count(any_app, User) == 1


def test_times_are_stored_as_utc_and_read_back_aware(any_app):
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 1, 14, 30, tzinfo=paris)
    with any_app.app_context():
        session = db.session()
        session.add(User(username="tz", email="tz@example.org", created_at=local))
        session.commit()
        session.expunge_all()
        user = session.scalar(sa.select(User))
        assert user.created_at == local
        assert user.created_at.tzinfo is UTC
        assert user.created_at.hour == 12


def test_naive_times_are_refused(any_app):
    with any_app.app_context():
        session = db.session()
        session.add(User(username="n", email="n@example.org", created_at=datetime(2026, 1, 1)))  # noqa: DTZ001
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            session.flush()
        session.rollback()


def test_created_at_comes_from_the_clock(any_app):
    moment = datetime(2025, 12, 24, 18, 0, tzinfo=UTC)
    any_app.config["CLOCK"] = lambda: moment
    with any_app.app_context():
        session = db.session()
        session.add(User(username="c", email="c@example.org"))
        session.commit()
        assert session.scalar(sa.select(User.created_at)) == moment


def test_dialect_name(any_app):
    with any_app.app_context():
        assert db.dialect_name() in ("sqlite", "postgresql")
        assert db.ping()


def test_has_written_follows_the_current_transaction(any_app):
    """What the PostgreSQL claim relies on to decide between a rollback and a savepoint."""
    with any_app.app_context():
        session = db.session()
        session.scalar(sa.select(User.id))
        assert not db.has_written(session)
        user = User(username="hw", email="hw@example.org")
        session.add(user)
        assert db.has_written(session)  # pending
        session.flush()
        assert db.has_written(session)  # flushed
        session.commit()
        assert not db.has_written(session)  # a new transaction
        session.execute(sa.update(User).values(email="hw2@example.org"))
        assert db.has_written(session)  # DML through the session
        session.rollback()
        assert not db.has_written(session)
        session.get(User, user.id).email = "hw3@example.org"
        assert db.has_written(session)  # a changed object
