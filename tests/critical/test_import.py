"""import-downloads: formats, normalisation, replacing a period, and bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import responses
from flask import Flask
from sqlalchemy import func, select

from giveaway import db
from giveaway.critical.models import DownloadCount, DownloadImport, DownloadPeriod
from giveaway.projects.models import Project
from tests.critical.conftest import import_rows, project, run, write_csv, write_json


def counts(app: Flask, period: str) -> dict[str, int]:
    with app.app_context():
        rows = db.session().execute(
            select(Project.name, DownloadCount.downloads)
            .join(DownloadCount, DownloadCount.project_id == Project.id)
            .join(DownloadPeriod, DownloadPeriod.id == DownloadCount.period_id)
            .where(DownloadPeriod.period == period)
        )
        return dict(rows.all())


def table_sizes(app: Flask) -> tuple[int, int, int, int]:
    with app.app_context():
        s = db.session()
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(model))
            for model in (Project, DownloadCount, DownloadPeriod, DownloadImport)
        )


def test_csv_import_creates_projects_and_logs(any_app: Flask, tmp_path: Path) -> None:
    result = import_rows(any_app, tmp_path, "2026-03", [("requests", 500), ("Flask", 20)])
    assert "Period 2026-03 imported" in result.stdout
    assert "2 rows, 2 projects (2 new)" in result.stdout
    assert counts(any_app, "2026-03") == {"requests": 500, "flask": 20}
    flask = project(any_app, "flask")
    assert flask is not None and flask.display_name == "Flask"
    with any_app.app_context():
        log = db.session().scalars(select(DownloadImport)).one()
        assert (log.period, log.rows, log.projects, log.projects_created) == ("2026-03", 2, 2, 2)
        assert log.source.endswith("2026-03.csv")
        assert log.imported_at is not None and log.duration_ms >= 0


def test_csv_without_header_and_blank_lines(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("\n\nalpha,1\r\nbeta,2\r\n\r\n")
    result = run(app, "import-downloads", str(path), "--period", "2026-03-14")
    assert result.exit_code == 0, result.output
    assert counts(app, "2026-03-14") == {"alpha": 1, "beta": 2}


def test_quoted_csv_goes_through_the_csv_module(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('project,downloads\n"alpha", 7\n"beta","8"\n')
    result = run(app, "import-downloads", str(path), "--period", "2026-03")
    assert result.exit_code == 0, result.output
    assert counts(app, "2026-03") == {"alpha": 7, "beta": 8}


def test_json_rows_format_with_dataset_count(any_app: Flask, tmp_path: Path) -> None:
    path = write_json(
        tmp_path, "top.json", [("boto3", 900), ("urllib3", 800)], dataset_count=654_321
    )
    result = run(any_app, "import-downloads", str(path), "--period", "2026-02")
    assert result.exit_code == 0, result.output
    assert "dataset index size 654,321" in result.stdout
    assert counts(any_app, "2026-02") == {"boto3": 900, "urllib3": 800}
    with any_app.app_context():
        period = db.session().scalars(select(DownloadPeriod)).one()
        assert period.dataset_count == 654_321
        assert str(period.starts_on) == "2026-02-01" and str(period.ends_on) == "2026-02-28"


def test_json_count_after_rows_and_string_counts(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "top.json"
    path.write_text(
        '{"meta": [{"name": "x"}], "rows": [{"project": "a", "download_count": "12"}],'
        ' "total_rows": 1, "rows_before_limit_at_least": 99, "statistics": {"elapsed": 0.1}}'
    )
    result = run(app, "import-downloads", str(path), "--period", "2026-02")
    assert result.exit_code == 0, result.output
    assert counts(app, "2026-02") == {"a": 12}


def test_names_are_normalised_and_merged(any_app: Flask, tmp_path: Path) -> None:
    rows = [
        ("Requests_Toolbelt", 10),
        ("requests.toolbelt", 5),
        ("requests--toolbelt", 1),
        ("Zope", 3),
    ]
    result = import_rows(any_app, tmp_path, "2026-03", rows)
    assert "4 rows, 2 projects (2 new)" in result.stdout
    assert counts(any_app, "2026-03") == {"requests-toolbelt": 16, "zope": 3}


def test_existing_project_is_matched_by_normalised_name(app: Flask, tmp_path: Path) -> None:
    from tests.factories import make_project

    make_project(app, "Flask_Tiny.Utils")
    import_rows(app, tmp_path, "2026-03", [("flask-tiny-utils", 4)])
    assert counts(app, "2026-03") == {"flask-tiny-utils": 4}
    assert project(app, "flask-tiny-utils").display_name == "Flask_Tiny.Utils"  # type: ignore[union-attr]


def test_reimport_replaces_the_period(any_app: Flask, tmp_path: Path) -> None:
    import_rows(any_app, tmp_path, "2026-03", [("a", 1), ("b", 2)])
    import_rows(any_app, tmp_path, "2026-02", [("a", 100)])
    result = import_rows(any_app, tmp_path, "2026-03", [("b", 20), ("c", 30)])
    assert "Period 2026-03 replaced" in result.stdout
    assert counts(any_app, "2026-03") == {"b": 20, "c": 30}
    assert counts(any_app, "2026-02") == {"a": 100}
    projects, _, periods, imports = table_sizes(any_app)
    assert (projects, periods, imports) == (3, 2, 3)


def test_many_rows_in_chunks(
    any_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from giveaway.critical import readers

    monkeypatch.setattr(readers, "BLOCK_CHARS", 1000)
    monkeypatch.setattr(readers, "CHUNK", 7)
    rows = [(f"pkg-{i}", i) for i in range(500)] + [("PKG_3", 1000)]
    import_rows(any_app, tmp_path, "2026-03", rows)
    got = counts(any_app, "2026-03")
    assert len(got) == 500 and got["pkg-3"] == 1003 and got["pkg-499"] == 499
    json_path = write_json(tmp_path, "t.json", rows)
    result = run(any_app, "import-downloads", str(json_path), "--period", "2026-02")
    assert result.exit_code == 0, result.output
    assert counts(any_app, "2026-02") == got


BAD_CSV = [
    ("missing column", "a,1\nb\nc,3\n", "line 2: expected 2 columns"),
    ("extra column", "a,1,2\n", "line 1: expected 2 columns"),
    (
        "negative",
        "project,downloads\na,1\nb,-5\n",
        "line 3: the download count must be a whole number",
    ),
    ("not an integer", "a,1.5\n", "line 1: the download count must be a whole number"),
    ("words", "a,many\n", "line 1: the download count must be a whole number"),
    ("empty count", "a,\n", "line 1: the download count must be a whole number"),
    ("empty name", "a,1\n,2\n", "line 2: the project name is empty"),
    ("invalid name", "a,1\n-bad-,2\n", "line 2: '-bad-' is not a valid project name"),
    ("huge count", "a,99999999999999999999\n", "line 1: the download count"),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_bad_csv_rows_change_nothing(
    any_app: Flask, tmp_path: Path, case: str, body: str, message: str
) -> None:
    import_rows(any_app, tmp_path, "2026-03", [("keep", 5)])
    before = table_sizes(any_app)
    path = tmp_path / "bad.csv"
    path.write_text(body)
    result = run(any_app, "import-downloads", str(path), "--period", "2026-03")
    assert result.exit_code == 1
    assert message in result.output
    assert "nothing imported" in result.output
    assert table_sizes(any_app) == before
    assert counts(any_app, "2026-03") == {"keep": 5}


BAD_JSON = [
    ("missing project", {"rows": [{"download_count": 1}]}, "row 0: missing project"),
    (
        "missing count",
        {"rows": [{"project": "a", "download_count": 1}, {"project": "b"}]},
        "row 1: missing download_count",
    ),
    ("negative", {"rows": [{"project": "a", "download_count": -1}]}, "row 0: the download count"),
    ("float", {"rows": [{"project": "a", "download_count": 2.5}]}, "row 0: the download count"),
    (
        "empty name",
        {"rows": [{"project": " ", "download_count": 2}]},
        "row 0: the project name is empty",
    ),
    (
        "name not a string",
        {"rows": [{"project": 7, "download_count": 2}]},
        "row 0: the project name must be a string",
    ),
    ("row not an object", {"rows": [3]}, "row 0: a row must be an object"),
    ("no rows", {"data": []}, 'no "rows" list'),
    ("top-level list", [1, 2], "must be an object"),
]


@pytest.mark.parametrize(("case", "document", "message"), BAD_JSON, ids=[c[0] for c in BAD_JSON])
def test_bad_json_rows_change_nothing(
    any_app: Flask, tmp_path: Path, case: str, document: object, message: str
) -> None:
    before = table_sizes(any_app)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = run(any_app, "import-downloads", str(path), "--period", "2026-03")
    assert result.exit_code == 1
    assert message in result.output
    assert table_sizes(any_app) == before


def test_malformed_json_is_reported(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"rows": [{"project": "a", "download_count": 1}, {"proj')
    result = run(app, "import-downloads", str(path), "--period", "2026-03")
    assert result.exit_code == 1
    assert "not valid JSON" in result.output
    assert table_sizes(app) == (0, 0, 0, 0)


def test_every_bad_row_is_counted_and_the_list_capped(app: Flask, tmp_path: Path) -> None:
    rows = [(f"p{i}", -i - 1) for i in range(120)]
    path = write_csv(tmp_path, "bad.csv", rows)
    result = run(app, "import-downloads", str(path), "--period", "2026-03")
    assert result.exit_code == 1
    assert "120 bad rows, nothing imported" in result.output
    assert "line 2:" in result.output and "line 51:" in result.output
    assert "line 52:" not in result.output
    assert "… and 70 more" in result.output
    assert table_sizes(app) == (0, 0, 0, 0)


def test_other_bad_files(app: Flask, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("  \n")
    assert (
        "the file is empty"
        in run(app, "import-downloads", str(empty), "--period", "2026-03").output
    )
    header = tmp_path / "header.csv"
    header.write_text("project,downloads\n")
    result = run(app, "import-downloads", str(header), "--period", "2026-03")
    assert result.exit_code == 1 and "no rows" in result.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes("caf\xe9,1\n".encode("latin-1"))
    result = run(app, "import-downloads", str(latin), "--period", "2026-03")
    assert result.exit_code == 1 and "not UTF-8" in result.output
    missing = run(app, "import-downloads", str(tmp_path / "nope.csv"), "--period", "2026-03")
    assert missing.exit_code == 1 and "cannot read" in missing.output
    assert table_sizes(app) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "period", ["2026-13", "2026-3", "2026-02-30", "March", "", "1200-01", "2026-03-14T00:00"]
)
def test_bad_period_is_refused(app: Flask, tmp_path: Path, period: str) -> None:
    path = write_csv(tmp_path, "d.csv", [("a", 1)])
    result = run(app, "import-downloads", str(path), "--period", period)
    assert result.exit_code == 1
    assert "--period" in result.output
    assert table_sizes(app) == (0, 0, 0, 0)


URL = "https://stats.example/top.json"


def test_url_source(any_app: Flask, no_network: responses.RequestsMock) -> None:
    no_network.add(
        responses.GET,
        URL,
        json={"rows": [{"project": "six", "download_count": 42}], "rows_before_limit_at_least": 7},
    )
    result = run(any_app, "import-downloads", URL, "--period", "2026-03")
    assert result.exit_code == 0, result.output
    assert counts(any_app, "2026-03") == {"six": 42}
    with any_app.app_context():
        assert db.session().scalars(select(DownloadImport.source)).one() == URL


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"body": requests.exceptions.ConnectTimeout()}, "timed out"),
        ({"body": requests.exceptions.ReadTimeout()}, "timed out"),
        ({"body": requests.exceptions.ConnectionError()}, "download failed (ConnectionError)"),
        ({"status": 500, "body": "oops"}, "HTTP 500"),
        ({"status": 404, "body": "gone"}, "HTTP 404"),
        ({"body": "<html>not json</html>"}, "line 1"),
        ({"body": '{"rows": [{"project": "a", "download_count": 1}'}, "not valid JSON"),
    ],
)
def test_url_failures_change_nothing(
    any_app: Flask, no_network: responses.RequestsMock, kwargs: dict, message: str
) -> None:
    no_network.add(responses.GET, URL, **kwargs)
    before = table_sizes(any_app)
    result = run(any_app, "import-downloads", URL, "--period", "2026-03")
    assert result.exit_code == 1
    assert message in result.output
    assert result.output.startswith(f"Error: {URL}") or URL in result.output
    assert table_sizes(any_app) == before


def test_other_url_schemes_are_refused(app: Flask) -> None:
    result = run(app, "import-downloads", "ftp://example.org/x.csv", "--period", "2026-03")
    assert result.exit_code == 1 and "only file paths and http(s) URLs" in result.output


def test_progress_goes_to_stderr(app: Flask, tmp_path: Path) -> None:
    result = import_rows(app, tmp_path, "2026-03", [("a", 1), ("b", 2)])
    assert "rows read" in result.stderr
    assert "rows read" not in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1
