"""The expiry job: expire, remind once, tell the waiting list; idempotent; one run at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text

from giveaway import clock, db
from giveaway.claims import expiry
from giveaway.claims.models import PromoCode, RestockRequest
from tests.conftest import outbox_for
from tests.factories import add_key, give_code, make_batch, make_maintainer, make_user


def test_expires_reminds_and_is_idempotent(any_app):  # type: ignore[no-untyped-def]
    app = any_app
    now = clock.now()
    make_batch(
        app,
        "past",
        codes=["P-1", "P-2", "P-CLAIMED", "P-VOID"],
        expires_at=now + timedelta(hours=1),
    )
    make_batch(app, "soon", codes=["S-1", "S-2", "S-3"], expires_at=now + timedelta(days=5))
    make_batch(app, "later", codes=["L-1"], expires_at=now + timedelta(days=30))
    early = make_maintainer(app, "early")
    maria = make_maintainer(app, "maria")
    keyed = make_maintainer(app, "keyed")
    later = make_maintainer(app, "later")
    give_code(app, early, "P-CLAIMED")
    give_code(app, maria, "S-1")
    give_code(app, keyed, "S-2")
    give_code(app, later, "L-1")
    with app.app_context():
        session = db.session()
        session.execute(
            sa.update(PromoCode).where(PromoCode.code == "P-VOID").values(voided_at=now)
        )
        session.commit()
    # A registered security key: the code was put to use, no reminder.
    add_key(app, keyed, "Key")
    app.config["CLOCK"] = lambda: now + timedelta(hours=2)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["expire-codes"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == (
        "expire-codes: 2 codes expired, 1 reminders sent, 0 people told that codes are available."
    )
    with app.app_context():
        codes = {c.code: c for c in db.session().scalars(select(PromoCode))}
        db.session().expunge_all()
    assert codes["P-1"].expired_at == now + timedelta(hours=2)
    assert codes["P-CLAIMED"].expired_at is None and codes["P-VOID"].expired_at is None
    assert codes["S-1"].reminder_sent_at is not None and codes["S-2"].reminder_sent_at is None
    mails = outbox_for(app)
    (reminder,) = mails.to("maria@example.org")
    assert "S-1" in mails.text(reminder) and "/giveaway/setup" in mails.text(reminder)
    assert not mails.to("keyed@example.org") and not mails.to("later@example.org")
    second = runner.invoke(args=["expire-codes"])
    assert "0 codes expired, 0 reminders sent" in second.output
    assert len(mails.to("maria@example.org")) == 1


def test_tells_the_waiting_list_once_codes_return(app):  # type: ignore[no-untyped-def]
    waiting = make_maintainer(app, "waiting")
    gotone = make_maintainer(app, "gotone")
    with app.app_context():
        session = db.session()
        session.add_all([RestockRequest(user_id=waiting.id), RestockRequest(user_id=gotone.id)])
        session.commit()
    runner = app.test_cli_runner()
    assert "0 people told" in runner.invoke(args=["expire-codes"]).output  # pool still empty
    make_batch(app, codes=["BACK-1", "BACK-2"])
    give_code(app, gotone, "BACK-2")
    assert "1 people told" in runner.invoke(args=["expire-codes"]).output
    assert "0 people told" in runner.invoke(args=["expire-codes"]).output
    mails = outbox_for(app)
    assert len(mails.to("waiting@example.org")) == 1
    assert not mails.to("gotone@example.org")


@pytest.mark.postgres
def test_second_run_sees_the_advisory_lock(pg_app):  # type: ignore[no-untyped-def]
    make_batch(pg_app, codes=["X-1"], expires_at=clock.now() + timedelta(seconds=1))
    later = clock.now() + timedelta(days=1)
    pg_app.config["CLOCK"] = lambda: later
    engine = pg_app.extensions["db.engine"]
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": expiry.LOCK_KEY})
        result = pg_app.test_cli_runner().invoke(args=["expire-codes"])
        assert result.exit_code == 0
        assert "another run holds the lock" in result.output
        holder.rollback()
    result = pg_app.test_cli_runner().invoke(args=["expire-codes"])
    assert "1 codes expired" in result.output


def test_sqlite_run_waits_for_the_write_lock(app):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["X-1"], expires_at=clock.now() + timedelta(seconds=1))
    later = clock.now() + timedelta(days=1)
    engine = app.extensions["db.engine"]
    with engine.connect() as holder:
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        with app.app_context():
            session = db.session()
            session.execute(text("PRAGMA busy_timeout=100"))
            summary = expiry.run(session, later, reminder_days=7)
            assert summary.locked_out
            assert "another run holds the lock" in summary.line()
        holder.rollback()
    with app.app_context():
        session = db.session()
        assert expiry.run(session, later, reminder_days=7).expired == 1
        session.commit()


def test_reminder_not_sent_for_user_without_claim(app):  # type: ignore[no-untyped-def]
    make_user(app, "idle")
    make_batch(app, codes=["FREE-1"], expires_at=clock.now() + timedelta(days=2))
    out = app.test_cli_runner().invoke(args=["expire-codes"]).output
    assert "0 reminders sent" in out
