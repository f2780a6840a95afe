"""One way to do each infrastructure thing: commands, their transaction, start-up
checks, the transaction boundary's hooks. (The import layers themselves are
checked by `lint-imports` in scripts/test.sh.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from giveaway import BLUEPRINTS, commands, create_app, db, settings
from giveaway.accounts.models import User
from giveaway.clitools import command, fail


def test_every_command_is_listed_in_one_place(app):
    assert sorted(app.cli.commands) == sorted(c.name for c in commands.ALL)
    # No blueprint brings commands of its own as a side effect of its import.
    assert all(not bp.cli.commands for bp in BLUEPRINTS)


def _users(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(sa.select(User.username)))


def test_a_command_commits_when_it_returns_and_changes_nothing_when_it_fails(app):
    @command("t-write")
    def write() -> None:
        db.session().add(User(username="kept", email="kept@example.org"))

    @command("t-refuse")
    def refuse() -> None:
        db.session().add(User(username="dropped", email="dropped@example.org"))
        db.session().flush()
        fail("bad input")

    app.cli.add_command(write)
    app.cli.add_command(refuse)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["t-write"]).exit_code == 0
    refused = runner.invoke(args=["t-refuse"])
    assert refused.exit_code == 1
    assert "bad input" in refused.output
    assert _users(app) == ["kept"]


def test_the_database_layer_knows_nothing_of_mail():
    """Mail rides on SQLAlchemy's session events; db.py imports no other area."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(db.__file__).read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            if node.module == "giveaway":
                imported.update(f"giveaway.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.startswith("giveaway.")}
    assert ours == {"giveaway.dialect"}


def test_area_checks_run_at_start_up_with_their_reason(tmp_path):
    def unusable() -> None:
        raise ValueError("GIVEAWAY_EXAMPLE cannot be read")

    app = Flask(__name__, instance_path=str(tmp_path))
    settings.load(app, {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    with pytest.raises(settings.SettingsError, match="Refusing to start: GIVEAWAY_EXAMPLE"):
        settings.check(app, [unusable])


@pytest.mark.parametrize(
    ("setting", "value"),
    [("MAIL_DELIVERY", "carrier"), ("ELIGIBLE_REGIONS", ["ZZ"]), ("MANDATE_2FA", "some")],
)
def test_each_area_setting_is_refused_by_settings_check(tmp_path, setting, value):
    with pytest.raises(settings.SettingsError, match=setting):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", setting: value})
