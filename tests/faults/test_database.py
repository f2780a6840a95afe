"""PostgreSQL faults: a connection killed mid-claim or mid-upload, the server unreachable.

Whatever happens, the visitor gets a friendly page (never a traceback), nothing
is half-written, and the next attempt works.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from giveaway import clock, db
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.events.models import Event
from giveaway.mail.models import OutboxMessage
from tests.conftest import base_config, login, truncate_all
from tests.factories import make_batch, make_maintainer
from tests.faults.conftest import Proxy, claim, shown_code, terminate_backend

pytestmark = pytest.mark.postgres


def _count(app, model, *where) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _kill_inside(monkeypatch, module, name: str) -> list[int]:  # type: ignore[no-untyped-def]
    """Make `module.name(session, ...)` kill its own database connection first."""
    original = getattr(module, name)
    killed: list[int] = []

    def wrapper(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not killed:
            pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            terminate_backend(pid)
            killed.append(pid)
        return original(session, *args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return killed


def test_connection_killed_while_the_claim_holds_the_row(pg_app, monkeypatch, caplog):
    from giveaway.claims import claim as claiming

    make_maintainer(pg_app, "maria")
    make_batch(pg_app, count=3)
    client = pg_app.test_client()
    login(client, "maria")
    # After the claim statement took a code (its row locked, its event written),
    # before the commit.
    killed = _kill_inside(monkeypatch, claiming, "send_receipt")
    with caplog.at_level(logging.ERROR):
        response = claim(client)
    assert killed
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html
    assert "Traceback" not in html and "AdminShutdown" not in html
    # Nothing half-written: no code taken, no event, no receipt.
    assert _count(pg_app, PromoCode, PromoCode.claimed_by_id.is_not(None)) == 0
    assert _count(pg_app, Event, Event.kind == "claim:claimed") == 0
    assert _count(pg_app, OutboxMessage) == 0
    # The retry works (the pool drops the dead connection) and takes exactly one code.
    monkeypatch.undo()
    assert claim(client).status_code == 303
    code = shown_code(client)
    assert code is not None
    assert _count(pg_app, PromoCode, PromoCode.claimed_by_id.is_not(None)) == 1
    assert _count(pg_app, Event, Event.kind == "claim:claimed") == 1
    assert _count(pg_app, OutboxMessage) == 1


def _load_codes(app, tmp_path, name: str):  # type: ignore[no-untyped-def]
    """`giveaway load-codes` as the operator runs it (through the real command group)."""
    from giveaway.cli import main

    path = tmp_path / f"{name}.txt"
    path.write_text("".join(f"{name.upper()}-{i:05d}-KEY\n" for i in range(2500)))
    expires = (clock.now() + timedelta(days=90)).date().isoformat()
    return CliRunner().invoke(
        main,
        ["load-codes", str(path), "--batch", name, "--expires", expires],
        obj=ScriptInfo(create_app=lambda: app),
    )


def test_connection_killed_during_a_batch_upload(pg_app, tmp_path, monkeypatch):
    from giveaway.claims import pool

    # Killed after the batch row and some of the codes went in (add_batch inserts
    # in chunks of 1,000), before the commit.
    original = pool.insert
    calls = {"n": 0}

    def insert_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            pid = db.session().execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            terminate_backend(pid)
        return original(*args, **kwargs)

    monkeypatch.setattr(pool, "insert", insert_then_die)
    result = _load_codes(pg_app, tmp_path, "spring")
    assert result.exit_code == 1, result.output
    assert "cannot reach the database" in result.output
    assert "Traceback" not in result.output
    assert _count(pg_app, PromoBatch) == 0
    assert _count(pg_app, PromoCode) == 0
    assert _count(pg_app, Event) == 0
    monkeypatch.undo()
    result = _load_codes(pg_app, tmp_path, "spring")
    assert result.exit_code == 0, result.output
    assert _count(pg_app, PromoBatch) == 1
    assert _count(pg_app, PromoCode) == 2500


@pytest.fixture
def proxied_app(tmp_path, pg_url):  # type: ignore[no-untyped-def]
    """The app reaching PostgreSQL through a proxy the test can pull out."""
    from giveaway import create_app

    url = sa.make_url(pg_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(base_config(tmp_path) | {"DATABASE_URL": proxied})
    truncate_all(app.extensions["db.engine"])
    yield app, proxy
    proxy.down()
    app.extensions["db.engine"].dispose()


def test_database_unreachable_then_back(proxied_app, caplog):
    app, proxy = proxied_app
    make_maintainer(app, "maria")
    make_batch(app, count=2)
    client = app.test_client()
    login(client, "maria")
    page = client.get("/giveaway")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert token

    proxy.down()
    with caplog.at_level(logging.WARNING):
        for path in ("/giveaway", "/account/"):
            response = client.get(path)
            assert response.status_code == 503, path
            html = response.get_data(as_text=True)
            assert "Temporarily unavailable" in html and "Traceback" not in html
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json()["database"] == "unreachable"
        # A claim in flight is answered the same way, not sent to the sign-in page.
        response = client.post(
            "/giveaway/claim", data={"region": "US", "csrf_token": token.group(1)}
        )
        assert response.status_code == 503
        # Signing in is too.
        anonymous = app.test_client()
        assert anonymous.get("/giveaway").status_code == 503

    proxy.up()
    assert client.get("/healthz").status_code == 200
    assert client.get("/giveaway").status_code == 200  # still signed in
    assert claim(client).status_code == 303
    assert shown_code(client) is not None
    assert _count(app, PromoCode, PromoCode.claimed_by_id.is_not(None)) == 1
