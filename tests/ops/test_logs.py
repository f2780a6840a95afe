"""Structured logs: one JSON object a line, the request id in each line and in the answer."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import login, make_sqlite_app, post_form
from tests.factories import make_batch, make_maintainer


@pytest.fixture
def json_app(tmp_path, sqlite_template) -> Iterator[tuple[Flask, io.StringIO]]:
    """The app with JSON logs, its handler writing to a string."""
    app = make_sqlite_app(tmp_path, sqlite_template, LOG_FORMAT="json")
    handler = app.extensions["logs.handler"]
    stream = io.StringIO()
    handler.setStream(stream)
    root = logging.getLogger()
    level = root.level
    yield app, stream
    root.removeHandler(handler)
    root.setLevel(level)
    app.extensions["db.engine"].dispose()


def lines(stream: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_claim_writes_json_lines_carrying_its_request_id(json_app):
    app, stream = json_app
    make_batch(app, "launch", codes=["LAUNCH-CODE-0001", "LAUNCH-CODE-0002"])
    make_maintainer(app, "erin")
    client = app.test_client()
    login(client, "erin")
    stream.truncate(0)
    stream.seek(0)
    response = post_form(client, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    assert response.status_code == 303
    request_id = response.headers["X-Request-ID"]
    records = lines(stream)
    mine = [r for r in records if r.get("request_id") == request_id]
    claim = [r for r in mine if r["message"] == "claim"]
    assert claim and claim[0]["outcome"] == "claimed" and claim[0]["level"] == "INFO"
    assert claim[0]["user_id"] and claim[0]["batch_id"]
    summary = [r for r in mine if r["message"] == "request"]
    assert summary == [
        {
            **summary[0],
            "endpoint": "giveaway.claim",
            "rule": "/giveaway/claim",
            "method": "POST",
            "status": 303,
        }
    ]
    assert summary[0]["duration_ms"] >= 0 and summary[0]["time"].endswith("+00:00")
    text = stream.getvalue()
    assert "LAUNCH-CODE-000" not in text and '"FR"' not in text and "France" not in text
    # Every request has an id of its own.
    assert len({r["request_id"] for r in records if r["message"] == "request"}) == len(
        [r for r in records if r["message"] == "request"]
    )


def test_a_proxys_request_id_is_kept_and_a_hostile_one_replaced(json_app):
    app, stream = json_app
    client = app.test_client()
    kept = client.get("/", headers={"X-Request-ID": "edge-7f3a9c21-req"})
    assert kept.headers["X-Request-ID"] == "edge-7f3a9c21-req"
    forged = 'x", "level": "forged", "y": "' + "z" * 300
    hostile = client.get("/", headers={"X-Request-ID": forged})
    replaced = hostile.headers["X-Request-ID"]
    assert replaced != forged and len(replaced) == 32
    records = lines(stream)
    assert {r["request_id"] for r in records} >= {"edge-7f3a9c21-req", replaced}
    assert not any(r.get("level") == "forged" for r in records)


def test_paths_with_tokens_are_logged_by_rule_not_by_path(json_app):
    app, stream = json_app
    app.test_client().get("/account/reset/eyJ1IjoxfQ.abc-DEF_123")
    text = stream.getvalue()
    assert "eyJ1IjoxfQ" not in text
    assert '"rule": "/account/reset/<token>"' in text


def test_an_error_line_names_the_request_and_is_one_line(json_app):
    app, stream = json_app

    @app.get("/explode-for-logs")
    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    response = app.test_client().get("/explode-for-logs")
    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    errors = [r for r in lines(stream) if r["level"] == "ERROR"]
    assert errors and errors[0]["request_id"] == request_id
    assert "RuntimeError: boom" in errors[0]["exc_info"]


def test_the_plain_format_stays_for_development(tmp_path, sqlite_template):
    app = make_sqlite_app(tmp_path, sqlite_template)
    assert "logs.handler" not in app.extensions  # tests and `flask run` keep their own
    response = app.test_client().get("/")
    assert len(response.headers["X-Request-ID"]) == 32
