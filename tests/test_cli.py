"""The `giveaway` command: init-db, create-admin, import-roles, help, bad settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from giveaway import db, migrate
from giveaway.accounts.models import User
from giveaway.projects.models import Project, Role
from tests.accounts.conftest import get_user, link_path
from tests.conftest import base_config, login, outbox_for
from tests.factories import TEST_PASSWORD, events_of, make_user

ROOT = Path(__file__).resolve().parent.parent


def run_giveaway(*args: str, env: dict[str, str] | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    """The console script's entry point in a fresh process, without GIVEAWAY_* leaking in."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GIVEAWAY_", "FLASK_"))}
    return subprocess.run(
        [sys.executable, "-c", "from giveaway.cli import main; main()", *args],
        cwd=ROOT,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
    )


def test_help_lists_the_commands(tmp_path):
    result = run_giveaway(
        "--help",
        env={"GIVEAWAY_DEBUG": "1", "GIVEAWAY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
    )
    assert result.returncode == 0, result.stderr
    for command in ("init-db", "create-admin", "import-roles", "demo"):
        assert command in result.stdout
    assert "make-migration" not in result.stdout  # hidden, for developers


def test_help_works_even_with_refused_settings():
    result = run_giveaway("--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_secret_key_stops_commands_with_the_reason_and_status_1(tmp_path):
    result = run_giveaway("init-db", env={"GIVEAWAY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode == 1
    assert "Refusing to start: SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_init_db_from_empty_then_up_to_date(tmp_path):
    from giveaway import create_app

    path = tmp_path / "fresh.sqlite3"
    app = create_app(base_config(tmp_path) | {"DATABASE_URL": f"sqlite:///{path}"})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert f"Schema upgraded from empty to {migrate.head()}." in first.output
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0
    assert f"Schema is up to date (revision {migrate.head()})." in second.output
    with app.app_context():
        assert migrate.current(db.engine()) == migrate.head()
    app.extensions["db.engine"].dispose()


def test_init_db_is_idempotent_on_both_databases(any_app):
    make_user(any_app, "keep")
    runner = any_app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    assert get_user(any_app, "keep") is not None


def test_init_db_through_the_console_script(tmp_path):
    env = {"GIVEAWAY_SECRET_KEY": "k" * 40, "GIVEAWAY_DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    assert "upgraded from empty" in run_giveaway("init-db", env=env).stdout
    assert "up to date" in run_giveaway("init-db", env=env).stdout


# --- create-admin -----------------------------------------------------------------------


def test_create_admin_with_password_file(any_app, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(TEST_PASSWORD + "\n")
    result = any_app.test_cli_runner().invoke(
        args=["create-admin", "Root", "--email", "root@example.org", "--password-file", str(secret)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Created admin Root <root@example.org>."
    user = get_user(any_app, "root")
    assert user.is_admin and user.email_verified
    assert login(any_app.test_client(), "root").status_code == 302
    assert len(events_of(any_app, "account:admin_created")) == 1


def test_create_admin_password_from_prompt(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "root", "--email", "root@example.org"],
        input=f"{TEST_PASSWORD}\n{TEST_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert TEST_PASSWORD not in result.output  # the prompt hides it
    assert get_user(app, "root").is_admin


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (
            ["root", "--email", "not-an-email"],
            TEST_PASSWORD,
            "email: This email address is not valid",
        ),
        (["root", "--email", "root@example.org"], "short", "password: Use at least 10 characters."),
        (
            ["Alice", "--email", "new@example.org"],
            TEST_PASSWORD,
            "username: This username is taken",
        ),
        (["bob", "--email", "ALICE@example.org"], TEST_PASSWORD, "email: An account already uses"),
    ],
)
def test_create_admin_bad_input(app, tmp_path, args, password, message):
    make_user(app, "alice")
    secret = tmp_path / "pw"
    secret.write_text(password)
    result = app.test_cli_runner().invoke(
        args=["create-admin", *args, "--password-file", str(secret)]
    )
    assert result.exit_code == 1
    assert "No admin created" in result.output
    assert message in result.output
    with app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_create_admin_requires_email(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "root"])
    assert result.exit_code == 2
    assert "--email" in result.output


# --- import-roles -----------------------------------------------------------------------


def test_import_roles_command(any_app, tmp_path):
    csv = tmp_path / "roles.csv"
    csv.write_text(
        "\ufeffproject,username,email,role\r\n"
        "Requests_Toolbelt,nina,nina@example.org,Owner\r\n"
        "requests.toolbelt,omar,omar@example.org,Maintainer\r\n"
    )
    result = any_app.test_cli_runner().invoke(args=["import-roles", str(csv)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Imported {csv}: 2 rows: 1 projects created, 2 accounts created (activation emailed), "
        "2 roles added, 0 changed, 0 unchanged."
    )
    outbox = outbox_for(any_app)
    assert link_path(outbox, "nina@example.org", "activate")
    assert link_path(outbox, "omar@example.org", "activate")
    with any_app.app_context():
        [project] = db.session().scalars(sa.select(Project))
        assert (project.name, project.display_name) == ("requests-toolbelt", "Requests_Toolbelt")


def test_import_roles_bad_rows_change_nothing(any_app, tmp_path):
    csv = tmp_path / "roles.csv"
    csv.write_text(
        "project,username,email,role\n"
        "good,nina,nina@example.org,Owner\n"
        "bad name!,omar,omar@example.org,Owner\n"
        "good,pia,pia@example,Boss\n"
    )
    result = any_app.test_cli_runner().invoke(args=["import-roles", str(csv)])
    assert result.exit_code == 1
    assert "2 bad rows, nothing imported" in result.output
    # Why, and what a valid name looks like, not only "not valid".
    assert (
        "line 3: 'bad name!' is not a valid project name: it contains ' ', '!'; a project "
        "name uses only letters, digits" in result.output
    )
    assert "line 4:" in result.output and "role must be Owner or Maintainer" in result.output
    with any_app.app_context():
        for model in (User, Project, Role):
            assert db.session().scalar(sa.select(sa.func.count()).select_from(model)) == 0
    assert len(outbox_for(any_app)) == 0


def test_import_roles_unreadable_files(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-roles", str(tmp_path / "missing.csv")])
    assert result.exit_code != 0
    assert "missing.csv" in result.output
    binary = tmp_path / "roles.csv"
    binary.write_bytes(b"project,username,email,role\n\xff\xfe,x,y,z\n")
    result = runner.invoke(args=["import-roles", str(binary)])
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.output


def test_import_roles_from_stdin(app):
    result = app.test_cli_runner().invoke(
        args=["import-roles", "-"], input="p,nina,nina@example.org,Owner\n"
    )
    assert result.exit_code == 0, result.output
    assert "1 accounts created" in result.output


def test_unreachable_database_is_one_clear_line(tmp_path):
    env = {
        "GIVEAWAY_DEBUG": "1",
        "GIVEAWAY_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x",
    }
    result = run_giveaway("init-db", env=env)
    assert result.returncode == 1
    assert "Error: cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr
