"""Two `expire-codes` runs at once on PostgreSQL: one works, the other says so and exits 0."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from giveaway import clock, db
from giveaway.claims import expiry
from giveaway.claims.models import PromoCode
from tests.factories import make_batch

pytestmark = pytest.mark.postgres


def test_two_runs_at_once(pg_app, monkeypatch):
    make_batch(pg_app, count=4, expires_at=clock.now() + timedelta(seconds=1))
    later = clock.now() + timedelta(days=1)
    pg_app.config["CLOCK"] = lambda: later

    inside = threading.Event()
    go_on = threading.Event()
    original = expiry.expire

    def slow_expire(session, now):  # type: ignore[no-untyped-def]
        inside.set()  # the first run holds the lock now
        assert go_on.wait(20)
        return original(session, now)

    monkeypatch.setattr(expiry, "expire", slow_expire)
    first: dict[str, object] = {}

    def first_run() -> None:
        with pg_app.app_context():
            try:
                first["summary"] = expiry.run(db.session(), clock.now(), reminder_days=7)
                db.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                first["error"] = exc

    thread = threading.Thread(target=first_run)
    thread.start()
    try:
        assert inside.wait(20)
        monkeypatch.setattr(expiry, "expire", original)
        second = pg_app.test_cli_runner().invoke(args=["expire-codes"])
    finally:
        go_on.set()
        thread.join(30)
    assert second.exit_code == 0, second.output
    assert "another run holds the lock" in second.output
    assert "error" not in first, first.get("error")
    assert first["summary"].expired == 4  # type: ignore[attr-defined]
    with pg_app.app_context():
        expired = db.session().scalar(
            sa.select(sa.func.count()).where(PromoCode.expired_at.is_not(None))
        )
    assert expired == 4
    # And a run after both finds nothing left to do.
    again = pg_app.test_cli_runner().invoke(args=["expire-codes"])
    assert again.exit_code == 0 and "0 codes expired" in again.output
