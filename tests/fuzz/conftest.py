"""Shared pieces of the fuzz tests: modest example counts, table counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, settings

from giveaway import db
from giveaway.models import Base
from tests.conftest import make_pg_app, make_sqlite_app

# Function-scoped fixtures (one app per test) are reused across examples on
# purpose: every example must leave the tables as it found them when rejected.
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def table_counts(app: Flask) -> dict[str, int]:
    """Rows in every table (the mail outbox too): a rejection changes none."""
    with app.app_context():
        session = db.session()
        return {
            table.name: session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """Every fuzz test on both databases: PostgreSQL refuses what SQLite takes
    (a NUL character in text), and that difference once made 500s."""
    if request.param == "sqlite":
        application = make_sqlite_app(tmp_path, request.getfixturevalue("sqlite_template"))
    else:
        application = make_pg_app(tmp_path, request.getfixturevalue("pg_url"))
    yield application
    application.extensions["db.engine"].dispose()
