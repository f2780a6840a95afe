"""The PostgreSQL claim: one statement that takes the code and records the event.

What these tests hold it to: the SQL mask is the Python mask; the event the
statement writes is the one `events.record` would write, and goes or stays
with the claim; one person racing themselves is settled by the UNIQUE
constraint without losing anything the transaction wrote before the claim.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from giveaway import clock, db, mail
from giveaway.accounts.models import User
from giveaway.claims import claim
from giveaway.claims.models import PromoCode, mask, mask_sql
from giveaway.events import service as events
from giveaway.events.models import Event
from tests.conftest import login, post_form
from tests.factories import clear_events, make_batch, make_maintainer

pytestmark = pytest.mark.postgres

CODES = ["", "A", "AB", "ABCDEF", "ABCDEFG", "ÄBC-DEF-ÖÜ", "X" * 64, "ab…cd", "'; --"]


@pytest.mark.parametrize("code", CODES)
def test_sql_mask_is_the_python_mask(pg_app, code):  # type: ignore[no-untyped-def]
    with pg_app.app_context():
        got = db.session().scalar(sa.select(mask_sql(sa.literal(code, sa.String))))
    assert got == mask(code)


def test_the_claim_statement_records_the_event_over_http(pg_app):  # type: ignore[no-untyped-def]
    batch_id = make_batch(pg_app, codes=["HTTP-CLAIM-0001"])
    maria = make_maintainer(pg_app)
    client = pg_app.test_client()
    login(client, "maria")
    response = post_form(client, "/giveaway/claim", {"region": "DE"}, page="/giveaway")
    assert response.status_code == 303
    with pg_app.app_context():
        session = db.session()
        (event,) = session.scalars(sa.select(Event).where(Event.kind == "claim:claimed"))
        code = session.scalars(sa.select(PromoCode)).one()
        # What events.record would have written, field for field.
        assert event.user_id == maria.id and event.actor_id is None
        assert event.ip_address == "127.0.0.1"
        assert event.detail == {"code": mask("HTTP-CLAIM-0001"), "batch_id": batch_id}
        assert event.created_at == code.claimed_at == code.receipt_queued_at
        assert code.claimed_by_id == maria.id


def test_event_and_claim_are_rolled_back_together(pg_app):  # type: ignore[no-untyped-def]
    make_batch(pg_app, codes=["ROLLED-BACK-1"])
    maria = make_maintainer(pg_app)
    clear_events(pg_app)
    with pg_app.app_context():
        session = db.session()
        result = claim.claim(session, session.get(User, maria.id), clock.now())
        assert result.status == "claimed" and result.code is not None
        assert result.code.code == "ROLLED-BACK-1" and result.code.claimed_by_id == maria.id
        db.rollback()
        session = db.session()
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
        assert session.scalars(sa.select(PromoCode)).one().claimed_by_id is None


def test_the_code_shown_is_the_row_written(any_app):  # type: ignore[no-untyped-def]
    make_batch(any_app, codes=["COPY-OF-ROW-01"])
    maria = make_maintainer(any_app)
    with any_app.app_context():
        session = db.session()
        result = claim.claim(session, session.get(User, maria.id), clock.now())
        db.commit()
        stored = session.scalars(sa.select(PromoCode)).one()
        assert result.code == claim.ClaimedCode.of(stored)
        assert result.code.claimed_by_id == maria.id and result.code.masked == stored.masked
        again = claim.claim(session, session.get(User, maria.id), clock.now())
        assert again.status == "already" and again.code == result.code


def _blocked_on_lock(engine: sa.Engine, pid: int) -> bool:
    with engine.connect() as conn:
        return (
            conn.scalar(
                sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
            == "Lock"
        )


def _race_yourself(app, user_id: int, before_claim):  # type: ignore[no-untyped-def]
    """Session A claims and holds its transaction open; session B (after `before_claim`)
    claims for the same person, which waits on the UNIQUE index; then A commits.
    Returns A's code and B's (result, session) after B's claim came back."""
    engine = app.extensions["db.engine"]
    maker = sessionmaker(bind=engine, expire_on_commit=False)
    out: dict[str, object] = {}
    with app.app_context():
        first = maker()
        won = claim.claim(first, first.get(User, user_id), clock.now())
        assert won.status == "claimed" and won.code is not None
        second = maker()
        pid = second.scalar(sa.text("SELECT pg_backend_pid()"))
        user = second.get(User, user_id)
        before_claim(second, user)

        def run() -> None:
            with app.app_context():
                out["result"] = claim.claim(second, user, clock.now())

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 20
        while not _blocked_on_lock(engine, pid):
            assert time.monotonic() < deadline, "the second claim never waited on the first"
            time.sleep(0.02)
        first.commit()
        thread.join(30)
        assert not thread.is_alive()
        mail.discard_queue()
        first.close()
        return won.code.code, out["result"], second


def test_racing_yourself_first_write_rolls_back_and_shows_the_first_code(pg_app):  # type: ignore[no-untyped-def]
    make_batch(pg_app, count=5)
    maria = make_maintainer(pg_app)
    clear_events(pg_app)

    def nothing(session, user):  # type: ignore[no-untyped-def]
        assert not db.has_written(session)

    code, result, second = _race_yourself(pg_app, maria.id, nothing)
    assert result.status == "already" and result.code.code == code
    # The session goes on working after the rollback.
    second.commit()
    assert second.get(User, maria.id).username == "maria"
    second.close()
    with pg_app.app_context():
        session = db.session()
        claimed = session.scalars(sa.select(PromoCode).where(PromoCode.claimed_by_id.is_not(None)))
        assert [c.code for c in claimed] == [code]
        assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 1


def test_racing_yourself_after_a_write_keeps_that_write(pg_app):  # type: ignore[no-untyped-def]
    """A caller that wrote before claiming gets a savepoint: the race undoes the claim only."""
    make_batch(pg_app, count=5)
    maria = make_maintainer(pg_app)
    clear_events(pg_app)

    def write_first(session, user):  # type: ignore[no-untyped-def]
        events.record(session, "test:before-claim", user)
        session.flush()
        assert db.has_written(session)

    code, result, second = _race_yourself(pg_app, maria.id, write_first)
    assert result.status == "already" and result.code.code == code
    second.commit()
    second.close()
    with pg_app.app_context():
        kinds = sorted(db.session().scalars(sa.select(Event.kind)))
    assert kinds == ["claim:claimed", "test:before-claim"]


def test_other_integrity_errors_are_not_taken_for_a_race(pg_app):  # type: ignore[no-untyped-def]
    """Only the one-code-each constraint means "you already have a code"."""
    make_batch(pg_app, count=2)
    maria = make_maintainer(pg_app)
    with pg_app.app_context():
        session = db.session()
        user = session.get(User, maria.id)
        ghost = User(id=user.id + 1000, username="ghost", email="g@example.org")
        # A claimant that does not exist: the foreign key refuses it.
        with pytest.raises(sa.exc.IntegrityError, match="foreign key"):
            claim.claim(session, ghost, clock.now())
        db.rollback()
