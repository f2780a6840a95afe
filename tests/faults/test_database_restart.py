"""The database restarted under the pool: at most one failed request, with no ping per request.

The pool does not ping each connection it hands out (a round trip on every
request). A connection that sat idle is pinged when taken again, so after a
quiet spell a restart costs nothing; a dead connection met mid-request makes
SQLAlchemy drop it and the rest of the pool, so a busy process loses one
request, and the next one works.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from giveaway import dialect
from tests.conftest import login
from tests.factories import make_batch, make_maintainer
from tests.faults.conftest import terminate_backend

pytestmark = pytest.mark.postgres


def _kill_the_pool(app) -> None:  # type: ignore[no-untyped-def]
    """Terminate every connection the app's pool holds (as a server restart would)."""
    engine = app.extensions["db.engine"]
    held = [engine.connect() for _ in range(3)]
    pids = [conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() for conn in held]
    for conn in held:
        conn.close()
    for pid in pids:
        terminate_backend(pid)


def _signed_in(app):  # type: ignore[no-untyped-def]
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    client = app.test_client()
    login(client, "maria")
    assert client.get("/giveaway").status_code == 200
    return client


class _Connection:
    """A DBAPI connection that notes the statements sent on it."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def cursor(self) -> _Connection:
        return self

    def execute(self, statement: str) -> None:
        self.sent.append(statement)

    def close(self) -> None:
        pass

    def rollback(self) -> None:
        pass


def test_a_busy_pool_sends_no_ping_and_an_idle_connection_gets_one(pg_app):
    assert pg_app.extensions["db.engine"].pool._pre_ping is False
    busy, idle = _Connection(), _Connection()
    now = time.monotonic()
    dialect._ping_if_idle(busy, SimpleNamespace(info={dialect._CHECKED_IN: now}), None)
    long_ago = now - dialect.IDLE_PING - 1
    dialect._ping_if_idle(idle, SimpleNamespace(info={dialect._CHECKED_IN: long_ago}), None)
    assert busy.sent == [] and idle.sent == ["SELECT 1"]


def test_after_an_idle_spell_a_restart_costs_no_request(pg_app, monkeypatch):
    client = _signed_in(pg_app)
    monkeypatch.setattr(dialect, "IDLE_PING", 0.0)  # every pooled connection counts as idle
    _kill_the_pool(pg_app)
    assert client.get("/giveaway").status_code == 200


def test_a_restart_under_load_costs_one_request_at_most(pg_app, monkeypatch):
    client = _signed_in(pg_app)
    monkeypatch.setattr(dialect, "IDLE_PING", 3600.0)  # no connection counts as idle
    _kill_the_pool(pg_app)
    statuses = [client.get("/giveaway").status_code for _ in range(4)]
    assert statuses.count(503) <= 1, statuses
    assert statuses[1:] == [200, 200, 200], statuses
