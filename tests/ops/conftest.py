"""Fixtures of the operations tests: apps whose /metrics a test may scrape, a parser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_pg_app, make_sqlite_app

METRICS_TOKEN = "scrape-token-for-tests"  # noqa: S105 - a test value

OPS_SETTINGS: dict[str, object] = {
    "METRICS_TOKEN": METRICS_TOKEN,
    "RATELIMIT_LOGIN": "1000/minute",
    "RATELIMIT_CLAIM": "1000/minute",
}


@pytest.fixture
def ops_app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The app on SQLite, with a metrics token."""
    application = make_sqlite_app(tmp_path, sqlite_template, **OPS_SETTINGS)
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ops_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app with a metrics token, on each database in turn."""
    if request.param == "sqlite":
        application = make_sqlite_app(
            tmp_path, request.getfixturevalue("sqlite_template"), **OPS_SETTINGS
        )
    else:
        application = make_pg_app(tmp_path, request.getfixturevalue("pg_url"), **OPS_SETTINGS)
    yield application
    application.extensions["db.engine"].dispose()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by (name, sorted labels)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(client: FlaskClient, token: str = METRICS_TOKEN) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.status_code
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape does not have it (a counter not yet moved)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
