"""The region answer decides one thing and is forgotten.

Each path of the claim form (eligible, not eligible, form error, server error)
is submitted through a real HTTP server with an unusual but valid region; then
every row of every table, the decoded session cookie, every log record (DEBUG
and up, werkzeug's access log included), every event and every email are
searched for it.
"""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from giveaway.claims import claim
from giveaway.models import Base
from tests.conftest import Outbox
from tests.factories import TEST_PASSWORD, make_batch, make_maintainer

ELIGIBLE_UNUSUAL = "LI"  # Liechtenstein: valid, and in the eligible list for this test only
INELIGIBLE_UNUSUAL = "ZW"  # Zimbabwe: valid, not eligible
NAMES = {"LI": "Liechtenstein", "ZW": "Zimbabwe"}


def _pattern(code: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){code}(?![A-Za-z0-9])|{NAMES[code]}", re.IGNORECASE)


@pytest.fixture
def server(app):  # type: ignore[no-untyped-def]
    app.config["ELIGIBLE_REGIONS"] = ["AT", "DE", "FR", "US", ELIGIBLE_UNUSUAL]
    app.config["RATELIMIT_ENABLED"] = False
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match
    return match.group(1)


def _signed_in(base: str, username: str) -> requests.Session:
    s = requests.Session()
    token = _csrf(s.get(f"{base}/account/login").text)
    r = s.post(
        f"{base}/account/login",
        data={"csrf_token": token, "username": username, "password": TEST_PASSWORD},
        allow_redirects=False,
    )
    assert r.status_code == 302
    return s


def _dump_all_rows(app) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    cells = []
    engine = app.extensions["db.engine"]
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    if column == "password_hash":
                        continue  # a salted hash of TEST_PASSWORD, random base64
                    text = json.dumps(value) if isinstance(value, dict | list) else str(value)
                    cells.append((table.name, column, text))
    return cells


def _assert_forgotten(app, session: requests.Session, caplog, code: str) -> None:  # type: ignore[no-untyped-def]
    pattern = _pattern(code)
    for table, column, text in _dump_all_rows(app):
        assert not pattern.search(text), f"region found in {table}.{column}: {text!r}"
    cookie = session.cookies.get("session")
    assert cookie
    serializer = app.session_interface.get_signing_serializer(app)
    data = serializer.loads(cookie)
    assert not pattern.search(json.dumps(data)), data
    assert not pattern.search(cookie)
    for name, value in session.cookies.items():
        if name != "session":
            assert not pattern.search(value), name
    assert caplog.records, "no log records captured"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        assert not pattern.search(text), f"region in log {record.name}: {text[:300]}"
    for message in Outbox(app).messages:
        assert not pattern.search(message.as_string())


@pytest.mark.parametrize("path", ["eligible", "not_eligible", "form_error", "server_error"])
def test_region_is_never_kept(app, server, caplog, monkeypatch, path):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    make_batch(app, codes=["REGION-TEST-1", "REGION-TEST-2"])
    make_maintainer(app, "maria")
    s = _signed_in(server, "maria")
    token = _csrf(s.get(f"{server}/giveaway").text)
    region = INELIGIBLE_UNUSUAL if path == "not_eligible" else ELIGIBLE_UNUSUAL
    data = {"csrf_token": token, "region": region}
    if path == "form_error":
        data["csrf_token"] = "not-the-token"
    if path == "server_error":

        def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("the claim service failed")

        monkeypatch.setattr(claim, "claim", broken)
    response = s.post(f"{server}/giveaway/claim", data=data, allow_redirects=False)
    expected = {"eligible": 303, "not_eligible": 200, "form_error": 303, "server_error": 500}
    assert response.status_code == expected[path], response.text[:500]
    if path == "eligible":
        page = s.get(f"{server}/giveaway").text
        assert "REGION-TEST-1" in page
    if path == "not_eligible":
        assert "cannot ship keys to that country" in response.text
    # The server error was logged (so the search below covers an error report).
    if path == "server_error":
        assert any(r.exc_info for r in caplog.records)
    _assert_forgotten(app, s, caplog, region)
