"""Helpers for the critical-projects tests: write download files, run the commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from giveaway import db
from giveaway.projects.models import Project

NOW = datetime(2026, 4, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(request: pytest.FixtureRequest) -> None:
    """Every app in these tests lives on 2026-04-15."""
    for name in ("app", "any_app", "pg_app"):
        if name in request.fixturenames:
            request.getfixturevalue(name).config["CLOCK"] = lambda: NOW


def write_csv(
    folder: Path, name: str, rows: list[tuple[str, object]], *, header: bool = True
) -> Path:
    path = folder / name
    lines = ["project,downloads"] if header else []
    lines += [f"{project},{count}" for project, count in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_json(
    folder: Path, name: str, rows: list[tuple[str, object]], *, dataset_count: int | None = None
) -> Path:
    document: dict[str, object] = {
        "last_update": "2026-04-01 07:00:00",
        "source": "test",
        "rows": [{"download_count": count, "project": project} for project, count in rows],
    }
    if dataset_count is not None:
        document["rows_before_limit_at_least"] = dataset_count
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def run(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args))


def import_rows(app: Flask, folder: Path, period: str, rows: list[tuple[str, object]], **kw):  # type: ignore[no-untyped-def]
    path = write_csv(folder, f"{period}.csv", rows, **kw)
    result = run(app, "import-downloads", str(path), "--period", period)
    assert result.exit_code == 0, result.output
    return result


def project(app: Flask, name: str) -> Project | None:
    with app.app_context():
        found = db.session().scalar(select(Project).where(Project.name == name))
        if found is not None:
            db.session().expunge(found)
        return found


def critical_names(app: Flask) -> set[str]:
    with app.app_context():
        return set(
            db.session().scalars(select(Project.name).where(Project.critical_since.is_not(None)))
        )
