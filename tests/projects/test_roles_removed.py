"""import-roles --full: a role the index removed is removed here, and eligibility follows.

Issue 12, defect 3: before --full, `import-roles` only added roles, so a
maintainer removed from a critical project at the index could still claim.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import eligibility
from giveaway.projects.models import Project, Role
from tests.accounts.conftest import events_of
from tests.conftest import make_user
from tests.factories import make_project


def roles(app: Flask) -> set[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session().execute(
            sa.select(Project.name, User.username, Role.role_name)
            .join(Role, Role.project_id == Project.id)
            .join(User, User.id == Role.user_id)
        )
        return {(p, u, str(r)) for p, u, r in rows}


def import_file(app: Flask, tmp_path: Path, text: str, *flags: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "roles.csv"
    path.write_text(text)
    return app.test_cli_runner().invoke(args=["import-roles", *flags, str(path)])


def critical_check(app: Flask, username: str) -> bool | None:
    with app.test_request_context():
        session = db.session()
        user = session.scalar(sa.select(User).where(User.username == username))
        return eligibility.check(session, user, clock.now()).get("critical").passed


def test_full_import_removes_the_roles_the_index_removed(any_app: Flask, tmp_path: Path) -> None:
    maria = make_user(any_app, "maria")
    bob = make_user(any_app, "bob")
    make_project(
        any_app, "Flask-Tiny", maintainers=[(maria, "Owner"), (bob, "Maintainer")], critical=True
    )
    make_project(any_app, "other", maintainers=[(maria, "Owner")])
    assert critical_check(any_app, "maria") is True

    result = import_file(
        any_app,
        tmp_path,
        "project,username,email,role\nflask_tiny,bob,bob@example.org,Owner\n",
        "--full",
    )

    assert result.exit_code == 0, result.output
    assert "1 removed" in result.output
    # The project the file names holds exactly the file's roles; others are untouched.
    assert roles(any_app) == {("flask-tiny", "bob", "Owner"), ("other", "maria", "Owner")}
    [event] = events_of(any_app, "role:removed")
    assert event.user_id == maria.id
    assert event.detail["project"] == "flask-tiny" and event.detail["role"] == "Owner"
    # Eligibility reads the roles table: maria no longer maintains a critical project.
    assert critical_check(any_app, "maria") is False
    assert critical_check(any_app, "bob") is True


def test_without_full_roles_are_only_added(app: Flask, tmp_path: Path) -> None:
    maria = make_user(app, "maria")
    make_project(app, "flask-tiny", maintainers=[(maria, "Owner")], critical=True)
    result = import_file(app, tmp_path, "flask-tiny,bob,bob@example.org,Owner\n")
    assert result.exit_code == 0, result.output
    assert roles(app) == {("flask-tiny", "maria", "Owner"), ("flask-tiny", "bob", "Owner")}
    assert events_of(app, "role:removed") == []


def test_full_import_can_empty_a_project(app: Flask, tmp_path: Path) -> None:
    maria = make_user(app, "maria")
    make_project(app, "gone", maintainers=[(maria, "Owner")], critical=True)
    make_project(app, "kept", maintainers=[(maria, "Maintainer")])
    result = import_file(app, tmp_path, "project,username,email,role\ngone,,,\n", "--full")
    assert result.exit_code == 0, result.output
    assert roles(app) == {("kept", "maria", "Maintainer")}
    assert critical_check(app, "maria") is False


def test_an_empty_project_row_needs_full(app: Flask, tmp_path: Path) -> None:
    maria = make_user(app, "maria")
    make_project(app, "gone", maintainers=[(maria, "Owner")])
    result = import_file(app, tmp_path, "gone,,,\n")
    assert result.exit_code == 1
    assert "line 1:" in result.output and "--full" in result.output
    assert roles(app) == {("gone", "maria", "Owner")}


def test_a_bad_full_file_removes_nothing(app: Flask, tmp_path: Path) -> None:
    maria = make_user(app, "maria")
    make_project(app, "p", maintainers=[(maria, "Owner")])
    result = import_file(app, tmp_path, "p,bob,bob@example.org,Owner\np,x y,bad,Boss\n", "--full")
    assert result.exit_code == 1
    assert roles(app) == {("p", "maria", "Owner")}
    assert events_of(app, "role:removed") == []


def test_an_empty_row_before_the_roles_of_a_new_project(app: Flask, tmp_path: Path) -> None:
    text = "project,username,email,role\nnew-one,,,\nnew-one,bob,bob@example.org,Owner\n"
    result = import_file(app, tmp_path, text, "--full")
    assert result.exit_code == 0, result.output
    assert roles(app) == {("new-one", "bob", "Owner")}
