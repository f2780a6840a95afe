"""Shared pieces of the fuzz tests: modest example counts, table counts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, settings

from giveaway import db
from giveaway.models import Base

# Function-scoped fixtures (one app per test) are reused across examples on
# purpose: every example must leave the tables as it found them when rejected.
FUZZ = settings(
    max_examples=60,
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
