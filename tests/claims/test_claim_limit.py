"""The claim's rate limit on Redis: the same limits, the same 429, one round trip.

Both windows of RATELIMIT_CLAIM ("10/minute;40/hour") are counted and read in
one call to Redis, where Flask-Limiter made three (one per window, one more for
the headers).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import login, make_sqlite_app, post_form, require
from tests.factories import make_batch, make_maintainer

REDIS_URL = "redis://127.0.0.1:6379/13"


def _redis() -> object:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


@pytest.fixture
def redis_client() -> object:
    client = _redis()
    require(client is not None, f"Redis is not reachable at {REDIS_URL}")
    client.flushdb()  # type: ignore[attr-defined]
    return client


@pytest.fixture
def limited_app(tmp_path, sqlite_template, redis_client) -> Iterator[Flask]:
    app = make_sqlite_app(tmp_path, sqlite_template, RATELIMIT_STORAGE_URI=REDIS_URL)
    yield app
    app.extensions["db.engine"].dispose()


def claim(client, region="other"):  # type: ignore[no-untyped-def]
    return post_form(client, "/giveaway/claim", {"region": region}, page="/giveaway")


@pytest.fixture
def sent(monkeypatch) -> list[bytes]:  # type: ignore[no-untyped-def]
    """The commands redis-py sends (each one a round trip), by name."""
    import redis.connection

    names: list[bytes] = []
    original = redis.connection.AbstractConnection.send_command

    def send(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        names.append(str(args[0]).encode())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", send)
    return names


def test_the_claim_limit_is_one_round_trip_and_still_refuses(limited_app, redis_client, sent):
    limited_app.config["RATELIMIT_CLAIM"] = "3/minute;40/hour"
    make_batch(limited_app)
    make_maintainer(limited_app, "maria")
    client = limited_app.test_client()

    login(client, "maria")
    assert claim(client).status_code == 200  # the first call also loads the script
    sent.clear()
    assert claim(client).status_code == 200
    assert sent == [b"EVALSHA"]
    refused = claim(client)
    assert claim(client).status_code == 429
    assert refused.status_code == 200
    last = claim(client)
    assert last.status_code == 429
    assert 1 <= int(last.headers["Retry-After"]) <= 60
    assert "Too many" in last.get_data(as_text=True) or "too many" in last.get_data(as_text=True)


def test_the_longer_window_counts_too(limited_app, redis_client):
    limited_app.config["RATELIMIT_CLAIM"] = "10/minute;2/hour"
    make_batch(limited_app)
    make_maintainer(limited_app, "maria")
    client = limited_app.test_client()

    login(client, "maria")
    assert [claim(client).status_code for _ in range(3)] == [200, 200, 429]
    wait = int(claim(client).headers["Retry-After"])
    assert 60 < wait <= 3600


def test_each_person_has_their_own_count(limited_app, redis_client):
    limited_app.config["RATELIMIT_CLAIM"] = "1/minute"
    make_batch(limited_app)
    make_maintainer(limited_app, "maria")
    make_maintainer(limited_app, "bob")

    maria, bob = limited_app.test_client(), limited_app.test_client()
    login(maria, "maria")
    login(bob, "bob")
    assert claim(maria).status_code == 200
    assert claim(maria).status_code == 429
    assert claim(bob).status_code == 200
