"""Rate limits kept in Redis, and Redis is down: sign-in and the claim keep working.

The limits fail open (with a logged warning) rather than locking every
maintainer out at the busiest moment.
"""

from __future__ import annotations

import logging

from tests.conftest import login, make_sqlite_app, post_form
from tests.factories import make_batch, make_maintainer
from tests.faults.conftest import claim, shown_code


def test_sign_in_and_claim_work_with_redis_down(tmp_path, sqlite_template, caplog):
    app = make_sqlite_app(
        tmp_path,
        sqlite_template,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1",  # nothing listens there
        RATELIMIT_LOGIN="1/minute",
        RATELIMIT_CLAIM="1/minute",
    )
    try:
        make_maintainer(app, "maria")
        make_batch(app, count=2)
        client = app.test_client()
        with caplog.at_level(logging.WARNING):
            # Were the limit enforced, the second attempt would be a 429.
            for _ in range(2):
                wrong = post_form(
                    client, "/account/login", {"username": "maria", "password": "wrong" * 3}
                )
                assert wrong.status_code == 401
            assert login(client, "maria").status_code == 302
            assert claim(client).status_code == 303
            assert claim(client).status_code == 303  # the second claim: shown the same code
        assert shown_code(client) is not None
        assert any(
            r.levelno >= logging.WARNING and r.name.startswith("flask-limiter")
            for r in caplog.records
        )
    finally:
        app.extensions["db.engine"].dispose()
