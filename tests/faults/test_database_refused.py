"""PostgreSQL refuses new connections (every slot taken): a 503 page, and a log line that
says which settings to size, instead of a bare "cannot reach the database"."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def _refused() -> OperationalError:
    # What psycopg raises when the server has no connection slot left.
    return OperationalError(
        "connect", {}, Exception("connection failed: FATAL:  sorry, too many clients already")
    )


def test_a_refused_connection_is_a_503_that_names_the_pool_settings(app, caplog):
    @app.get("/needs-a-connection")
    def needs_a_connection():  # type: ignore[no-untyped-def]
        raise _refused()

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/needs-a-connection")
    assert response.status_code == 503
    assert "DATABASE_POOL_SIZE" in caplog.text and "max_connections" in caplog.text
    assert "DATABASE_POOL_SIZE" not in response.get_data(as_text=True)  # for operators only


def test_no_free_pooled_connection_is_busy_not_unreachable(app, caplog):
    @app.get("/pool-empty")
    def pool_empty():  # type: ignore[no-untyped-def]
        raise PoolTimeout("QueuePool limit of size 10 overflow 0 reached")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/pool-empty")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "very busy" in page and "cannot reach its database" not in page
    assert response.headers["Retry-After"] == "5"
    assert "no free database connection" in caplog.text
