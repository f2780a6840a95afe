"""import-roles: PEP 503 names, accounts created without password, all or nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from giveaway import db
from giveaway.accounts.models import User
from giveaway.projects import names
from giveaway.projects.models import Project, Role, RoleName
from giveaway.projects.roles_import import import_roles
from tests.factories import make_project, make_user


def counts(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        s = db.session()
        return tuple(
            s.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, Project, Role)
        )


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("Flask-Tiny_Utils", "flask-tiny-utils"),
        ("py.yaml--fast", "py-yaml-fast"),
        ("A__B..C", "a-b-c"),
        ("requests", "requests"),
    ],
)
def test_pep503_normalization(given, normalized):
    assert names.normalize(given) == normalized


def test_import_creates_projects_accounts_and_roles(any_app):
    existing = make_user(any_app, "maria")
    make_project(any_app, "Requests-Toolbelt", maintainers=[(existing, "Maintainer")])
    text = (
        "project,username,email,role\n"
        "requests_toolbelt,Maria,maria@example.org,owner\n"
        "Flask.Tiny,maria,MARIA@example.org,Maintainer\n"
        "Flask.Tiny,newcomer,newcomer@example.org,Owner\n"
    )
    with any_app.test_request_context():
        report = import_roles(db.session(), text)
        assert report.ok, report.errors
        assert (report.projects_created, report.users_created) == (1, 1)
        assert (report.roles_created, report.roles_updated, report.roles_unchanged) == (2, 1, 0)
        db.session().commit()
        project = db.session().scalar(sa.select(Project).where(Project.name == "flask-tiny"))
        assert project.display_name == "Flask.Tiny"
        newcomer = db.session().scalar(sa.select(User).where(User.username == "newcomer"))
        assert newcomer.password_hash is None and newcomer.email_verified_at is None
        role = db.session().scalar(
            sa.select(Role).where(Role.user_id == existing.id, Role.project_id != project.id)
        )
        assert role.role_name is RoleName.OWNER
    # Importing the same file again changes nothing.
    with any_app.test_request_context():
        again = import_roles(db.session(), text)
        assert (again.projects_created, again.users_created, again.roles_unchanged) == (0, 0, 3)


BAD = [
    ("a,b,c\n", "line 1: expected 4 columns"),
    ("proj,alice,alice@example.org,Owner,extra\n", "line 1: expected 4 columns"),
    (",alice,alice@example.org,Owner\n", "line 1: the project name is empty"),
    ("-bad-,alice,alice@example.org,Owner\n", "'-bad-' is not a valid project name"),
    ("proj,al ice,alice@example.org,Owner\n", "'al ice' is not a valid username"),
    ("proj,alice,not-an-email,Owner\n", "'not-an-email' is not a valid email address"),
    ("proj,alice,alice@example.org,Admin\n", "the role must be Owner or Maintainer, not 'Admin'"),
    (
        "Proj,alice,alice@example.org,Owner\nproj,ALICE,alice@example.org,Maintainer\n",
        "line 2: ALICE on proj is already given on line 1",
    ),
    (
        "p1,alice,alice@example.org,Owner\np2,alice,other@example.org,Owner\n",
        "line 2: alice is given the email alice@example.org on line 1 and other@example.org here",
    ),
    (
        "p1,alice,shared@example.org,Owner\np2,bob,shared@example.org,Owner\n",
        "line 2: shared@example.org is given to both alice and bob",
    ),
    ('p1,"alice,alice@example.org,Owner\n', "line 1"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_rows_are_reported_with_line_numbers_and_nothing_changes(app, text, message):
    before = counts(app)
    with app.test_request_context():
        report = import_roles(db.session(), "project,username,email,role\n" + text)
        db.session().commit()
    assert not report.ok
    rendered = "\n".join(str(e) for e in report.errors)
    # The header is line 1 of the file, so every line number moves down by one.
    expected = message
    for n in (2, 1):
        expected = expected.replace(f"line {n}", f"line {n + 1}")
    assert expected in rendered
    assert counts(app) == before


def test_conflicts_with_existing_accounts_are_reported(app):
    make_user(app, "maria")
    text = "p,maria,someone@example.org,Owner\np,other,maria@example.org,Owner\n"
    with app.test_request_context():
        report = import_roles(db.session(), text)
    assert [str(e) for e in report.errors] == [
        "line 1: maria has the email maria@example.org, not someone@example.org",
        "line 2: maria@example.org belongs to another account (maria)",
    ]


def test_every_bad_row_is_reported_not_just_the_first(app):
    text = "p,ok,ok@example.org,Owner\np,x y,bad,Boss\n,z,z@example.org,Owner\n"
    with app.test_request_context():
        report = import_roles(db.session(), text)
    assert [e.line for e in report.errors] == [2, 3]
    assert "not a valid username" in str(report.errors[0])
    assert "not a valid email" in str(report.errors[0])
    assert "role must be" in str(report.errors[0])
