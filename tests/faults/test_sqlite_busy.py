"""SQLite under more writers than it can take at once: a lock wait that runs out is "busy".

Issue 12, defect 5: under a stampede, writers that waited out the busy timeout
were told the portal "cannot reach its database". Another connection holds
the write lock here, for longer than the (shortened) busy timeout.
"""

from __future__ import annotations

import sqlite3

from tests.conftest import make_sqlite_app, make_user, post_form
from tests.faults.conftest import within


def test_a_lock_wait_that_runs_out_is_busy_not_unreachable(tmp_path, sqlite_template):
    app = make_sqlite_app(tmp_path, sqlite_template, SQLITE_BUSY_TIMEOUT=0.5)
    try:
        make_user(app, "maria")
        client = app.test_client()
        path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # a long writer holds the lock
            # A wrong password writes a failure event: it must wait for the lock.
            response = within(
                8,
                post_form,
                client,
                "/account/login",
                {"username": "maria", "password": "wrong" * 3},
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        page = response.get_data(as_text=True)
        assert response.status_code == 503
        assert "very busy" in page and "cannot reach its database" not in page
        assert int(response.headers["Retry-After"]) <= 10
        # The lock is free again: the same request goes through.
        again = post_form(client, "/account/login", {"username": "maria", "password": "wrong" * 3})
        assert again.status_code == 401
    finally:
        app.extensions["db.engine"].dispose()
