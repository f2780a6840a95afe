"""GET /giveaway, the page every claimant reloads, runs at most four SQL statements.

Whatever the visitor's state: signed out, not eligible, eligible, claimed with
the walkthrough under way, the pool empty, waiting for a restock, before the
opening, after the close. Counted on the engine (every statement the page sends,
the user's loading included), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from giveaway import db
from giveaway.claims.models import RestockRequest
from tests.conftest import login
from tests.factories import (
    add_keys,
    add_recovery_codes,
    claim_for,
    clock_now,
    enable_totp,
    make_batch,
    make_maintainer,
    make_user,
)

MOST = 4


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs."""
    sent: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    engine = app.extensions["db.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _anonymous(app: Flask, client: FlaskClient) -> str:
    make_batch(app, count=2)
    return "Sign in to check"


def _not_eligible(app: Flask, client: FlaskClient) -> str:
    make_batch(app, count=2)
    make_user(app, "nobody")
    login(client, "nobody")
    return "None of the projects"


def _eligible(app: Flask, client: FlaskClient) -> str:
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    login(client, "maria")
    return "Claim my code"


def _claimed_mid_walkthrough(app: Flask, client: FlaskClient) -> str:
    batch = make_batch(app, count=2, vendor="KeyVendor")
    maria = make_maintainer(app, "maria")
    claim_for(app, batch, maria, clock_now(app))
    login(client, "maria")
    add_keys(app, maria, 1)
    return "Key set-up: 3 of 6 steps done"


def _claimed_all_set_up(app: Flask, client: FlaskClient) -> str:
    batch = make_batch(app, count=2, vendor="KeyVendor")
    maria = make_maintainer(app, "maria")
    claim_for(app, batch, maria, clock_now(app))
    login(client, "maria")
    add_keys(app, maria, 2)
    enable_totp(app, maria)
    add_recovery_codes(app, maria)
    return "from KeyVendor"


def _pool_empty(app: Flask, client: FlaskClient) -> str:
    make_maintainer(app, "maria")
    login(client, "maria")
    return "Email me when codes return"


def _waiting_for_restock(app: Flask, client: FlaskClient) -> str:
    maria = make_maintainer(app, "maria")
    with app.app_context():
        session = db.session()
        session.add(RestockRequest(user_id=maria.id, created_at=clock_now(app)))
        session.commit()
    login(client, "maria")
    return "We will email maria@example.org when codes are available again"


def _before_opening(app: Flask, client: FlaskClient) -> str:
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    login(client, "maria")
    app.config["GIVEAWAY_OPENS_AT"] = datetime.now(UTC) + timedelta(days=3)
    return "has not started yet"


def _after_close(app: Flask, client: FlaskClient) -> str:
    make_batch(app, count=2)
    make_maintainer(app, "maria")
    login(client, "maria")
    app.config["GIVEAWAY_OPENS_AT"] = datetime.now(UTC) - timedelta(days=30)
    app.config["GIVEAWAY_CLOSES_AT"] = datetime.now(UTC) - timedelta(days=1)
    return "The giveaway has ended"


STATES: dict[str, Callable[[Flask, FlaskClient], str]] = {
    "anonymous": _anonymous,
    "not eligible": _not_eligible,
    "eligible": _eligible,
    "claimed, walkthrough under way": _claimed_mid_walkthrough,
    "claimed, all set up": _claimed_all_set_up,
    "pool empty": _pool_empty,
    "waiting for a restock": _waiting_for_restock,
    "before the opening": _before_opening,
    "after the close": _after_close,
}


@pytest.mark.parametrize("state", list(STATES))
def test_the_page_runs_at_most_four_statements(any_app, state):
    client = any_app.test_client()
    shown = STATES[state](any_app, client)
    with statements(any_app) as sent:
        response = client.get("/giveaway")
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)
    assert len(sent) <= MOST, "\n\n".join(sent)
