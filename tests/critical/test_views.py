"""The account page section and the admin pages."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask

from giveaway.projects.models import RoleName
from tests.conftest import login, login_2fa
from tests.critical.conftest import NOW, import_rows, run
from tests.factories import make_admin, make_project, make_user


def filler(n: int) -> list[tuple[str, int]]:
    return [(f"filler-{i:03d}", 1000 + i) for i in range(n)]


def test_account_page_explains_why(app: Flask, tmp_path: Path) -> None:
    maria = make_user(app, "maria")
    make_project(app, "requests-toolbelt", maintainers=[(maria, RoleName.OWNER)])
    make_project(app, "py-yaml-fast", maintainers=[(maria, RoleName.OWNER)])
    import_rows(
        app,
        tmp_path,
        "2026-03",
        [("requests-toolbelt", 123_456), ("py-yaml-fast", 2), *filler(198)],
    )
    assert run(app, "compute-critical").exit_code == 0
    client = app.test_client()
    login(client, "maria")
    html = client.get("/account/").get_data(as_text=True)
    assert "Your critical projects" in html
    assert "requests-toolbelt" in html
    assert "ranked 1 of 200 projects by downloads in the six months before April 2026" in html
    assert "123,456 downloads" in html
    assert f"critical since {NOW:%Y-%m-%d}" in html
    section = html.split("Your critical projects", 1)[1].split("</section>", 1)[0]
    assert "py-yaml-fast" not in section


def test_account_page_without_critical_projects(app: Flask) -> None:
    make_user(app, "otto")
    client = app.test_client()
    login(client, "otto")
    html = client.get("/account/").get_data(as_text=True)
    assert "Your critical projects" not in html


def test_account_page_for_a_project_marked_critical_by_hand(app: Flask) -> None:
    maria = make_user(app, "maria")
    make_project(app, "legacy", maintainers=[(maria, RoleName.OWNER)], critical=True)
    client = app.test_client()
    login(client, "maria")
    html = client.get("/account/").get_data(as_text=True)
    assert "legacy" in html and "ranked 1 by downloads" in html


@pytest.fixture
def admin_client(app: Flask):  # type: ignore[no-untyped-def]
    make_admin(app, "root")
    client = app.test_client()
    login_2fa(client, "root")
    return client


@pytest.fixture
def many_critical(app: Flask) -> None:
    for i in range(120):
        make_project(
            app,
            f"proj-{i:03d}",
            critical=True,
            critical_rank=i + 1,
            critical_downloads=10_000 - i,
            critical_since=NOW.replace(day=1 + i % 28),
        )
    make_project(app, "not-critical")


@pytest.mark.parametrize("path", ["/admin/critical", "/admin/critical.csv", "/admin/imports"])
def test_admin_pages_are_for_admins(app: Flask, path: str) -> None:
    client = app.test_client()
    anonymous = client.get(path)
    assert anonymous.status_code in (302, 401)
    make_user(app, "maria")
    login(client, "maria")
    assert client.get(path).status_code == 403


@pytest.mark.usefixtures("many_critical")
def test_critical_list_paginates_and_sorts(admin_client) -> None:  # type: ignore[no-untyped-def]
    first = admin_client.get("/admin/critical").get_data(as_text=True)
    assert "Showing 1–50 of 120 critical projects" in first
    assert "proj-000" in first and "proj-050" not in first and "not-critical" not in first
    third = admin_client.get("/admin/critical?page=3").get_data(as_text=True)
    assert "Showing 101–120 of 120" in third and "proj-119" in third
    beyond = admin_client.get("/admin/critical?page=99").get_data(as_text=True)
    assert "Page 3 of 3" in beyond
    by_name_desc = admin_client.get("/admin/critical?sort=name&order=desc").get_data(as_text=True)
    assert by_name_desc.index("proj-119") < by_name_desc.index("proj-118")
    by_downloads = admin_client.get("/admin/critical?sort=downloads").get_data(as_text=True)
    assert by_downloads.index("proj-000") < by_downloads.index("proj-001")
    by_since = admin_client.get("/admin/critical?sort=since&order=asc").get_data(as_text=True)
    assert "proj-000" in by_since and "proj-028" in by_since


@pytest.mark.usefixtures("many_critical")
def test_critical_list_search(admin_client) -> None:  # type: ignore[no-untyped-def]
    html = admin_client.get("/admin/critical?q=PROJ_01").get_data(as_text=True)
    assert "of 10 critical projects matching" in html
    assert "proj-010" in html and "proj-020" not in html
    none = admin_client.get("/admin/critical?q=100%25").get_data(as_text=True)
    assert "No critical projects match" in none


@pytest.mark.parametrize("query", ["page=abc", "page=0", "sort=password", "order=sideways"])
def test_critical_list_bad_parameters(admin_client, query: str) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get(f"/admin/critical?{query}")
    assert response.status_code == 400
    assert "must be" in response.get_data(as_text=True)


def test_csv_export_is_formula_safe(app: Flask, admin_client) -> None:  # type: ignore[no-untyped-def]
    make_project(app, "=cmd", critical=True, critical_rank=2, critical_downloads=5)
    make_project(app, "fine", critical=True, critical_rank=1, critical_downloads=9)
    response = admin_client.get("/admin/critical.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["project", "downloads", "rank", "critical_since"]
    assert rows[1][:3] == ["fine", "9", "1"]
    assert rows[2][0] == "'=cmd"


def test_imports_page(app: Flask, admin_client, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = admin_client.get("/admin/imports").get_data(as_text=True)
    assert "No download statistics have been imported yet" in empty
    import_rows(app, tmp_path, "2026-02", [("a", 1), ("b", 2)])
    import_rows(app, tmp_path, "2026-03", [("a", 1)])
    html = admin_client.get("/admin/imports").get_data(as_text=True)
    assert html.index("2026-03") < html.index("2026-02")
    assert "2026-03.csv" in html
    assert admin_client.get("/admin/imports?page=x").status_code == 400


def test_admin_nav_links_the_pages(admin_client) -> None:  # type: ignore[no-untyped-def]
    html = admin_client.get("/admin/critical").get_data(as_text=True)
    assert 'href="/admin/imports"' in html


def test_list_critical_command(app: Flask) -> None:
    make_project(app, "@evil", critical=True, critical_rank=3, critical_downloads=7)
    make_project(
        app, "tab", display_name="tab", critical=True, critical_rank=1, critical_downloads=70
    )
    make_project(app, "plain")
    result = run(app, "list-critical")
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["project", "downloads", "rank", "critical_since"]
    assert [r[0] for r in rows[1:]] == ["tab", "'@evil"]
    assert rows[1][1:3] == ["70", "1"]
    assert rows[1][3].startswith(f"{NOW:%Y-%m-%d}")
