"""import-roles against pre-registered usernames (issue 12, defect 4).

A stranger who registers a maintainer's username before the roles arrive must
neither block the import nor end up holding the role: an import only attaches
a role to an account whose address the index's maintainer has verified (or
that the import made itself and activates by mail to the index's address).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from giveaway import db
from giveaway.accounts.models import User
from giveaway.projects.models import Project, Role
from tests.accounts.conftest import NEW_PASSWORD, events_of, get_user, link_path
from tests.conftest import TEST_PASSWORD, AuthActions, login, make_user, outbox_for, post_form

FILE = "project,username,email,role\nflask-tiny,victim,victim@example.org,Owner\n"
WITH_OTHERS = FILE + "flask-tiny,nina,nina@example.org,Maintainer\n"


def import_roles(app: Flask, tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "roles.csv"
    path.write_text(text)
    return app.test_cli_runner().invoke(args=["import-roles", str(path)])


def role_holders(app: Flask) -> dict[str, str]:
    """username -> email of every account holding a role."""
    with app.app_context():
        rows = db.session().execute(
            sa.select(User.username, User.email).join(Role, Role.user_id == User.id)
        )
        return dict(rows.all())


def activate(app: Flask, address: str) -> None:
    client = app.test_client()
    path = link_path(outbox_for(app), address, "activate")
    response = post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_stranger_with_their_own_address_blocks_nothing(any_app: Flask, tmp_path: Path) -> None:
    attacker = any_app.test_client()
    assert AuthActions(attacker).register("victim", email="attacker@example.net").status_code == 302

    result = import_roles(any_app, tmp_path, WITH_OTHERS)

    assert result.exit_code == 0, result.output
    # Every other new maintainer of the file is imported and activated.
    assert link_path(outbox_for(any_app), "nina@example.org", "activate")
    # The name goes to the index's maintainer: activation at the index's address.
    assert role_holders(any_app) == {
        "victim": "victim@example.org",
        "nina": "nina@example.org",
    }
    assert link_path(outbox_for(any_app), "victim@example.org", "activate")
    # The stranger's password and session are gone; the maintainer's activation works.
    assert attacker.get("/account/").status_code in (302, 401)
    assert login(any_app.test_client(), "victim").status_code != 302
    activate(any_app, "victim@example.org")
    assert login(any_app.test_client(), "victim", NEW_PASSWORD).status_code == 302
    [event] = events_of(any_app, "account:reclaimed")
    assert event.detail["via"] == "import-roles"


def test_stranger_with_the_maintainers_public_address_gets_nothing(
    any_app: Flask, tmp_path: Path
) -> None:
    attacker = any_app.test_client()
    assert AuthActions(attacker).register("victim", email="victim@example.org").status_code == 302
    outbox = outbox_for(any_app)
    verify = link_path(outbox, "victim@example.org", "verify")

    result = import_roles(any_app, tmp_path, FILE)
    assert result.exit_code == 0, result.output

    # The real maintainer gets their activation...
    assert link_path(outbox, "victim@example.org", "activate")
    # ...and clicking the ordinary verification mail no longer hands the
    # account to whoever registered it: their password no longer signs in.
    assert any_app.test_client().get(verify).status_code == 302
    assert get_user(any_app, "victim").email_verified
    assert login(any_app.test_client(), "victim", TEST_PASSWORD).status_code != 302
    assert attacker.get("/account/").status_code in (302, 401)
    activate(any_app, "victim@example.org")
    assert login(any_app.test_client(), "victim", NEW_PASSWORD).status_code == 302


def test_stranger_holding_the_maintainers_address_under_another_name(
    app: Flask, tmp_path: Path
) -> None:
    assert (
        AuthActions(app.test_client()).register("decoy", email="victim@example.org").status_code
        == 302
    )
    result = import_roles(app, tmp_path, WITH_OTHERS)
    assert result.exit_code == 0, result.output
    assert role_holders(app) == {"victim": "victim@example.org", "nina": "nina@example.org"}
    assert get_user(app, "decoy") is None  # the unconfirmed registration became the index's
    assert login(app.test_client(), "victim", TEST_PASSWORD).status_code != 302
    activate(app, "victim@example.org")


def test_verified_stranger_is_reported_and_skipped_not_aborting(
    any_app: Flask, tmp_path: Path
) -> None:
    make_user(any_app, "victim", email="attacker@example.net")  # verified, their own address
    result = import_roles(any_app, tmp_path, WITH_OTHERS)
    assert result.exit_code == 0, result.output
    assert "line 2: victim" in result.output and "skipped" in result.output
    assert "1 skipped" in result.output
    assert role_holders(any_app) == {"nina": "nina@example.org"}
    assert link_path(outbox_for(any_app), "nina@example.org", "activate")
    with any_app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(Project)) == 1


def test_a_verified_account_at_the_index_address_still_gets_its_role(
    app: Flask, tmp_path: Path
) -> None:
    make_user(app, "victim", email="victim@example.org")
    result = import_roles(app, tmp_path, FILE)
    assert result.exit_code == 0, result.output
    assert role_holders(app) == {"victim": "victim@example.org"}
    assert login(app.test_client(), "victim").status_code == 302
    assert events_of(app, "account:reclaimed") == []
