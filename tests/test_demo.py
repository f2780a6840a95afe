"""`giveaway demo`: a ready database and how to sign in."""

from __future__ import annotations

import sqlalchemy as sa

from giveaway import db, demo
from giveaway.accounts.models import User
from giveaway.projects.models import Project
from tests.conftest import login


def test_demo_builds_data_and_prints_how_to_sign_in(any_app):
    runner = any_app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "/account/login" in result.output
    for username, _email, password in (demo.ADMIN, demo.MAINTAINER):
        assert username in result.output and password in result.output
        client = any_app.test_client()
        assert login(client, username, password).status_code == 302
    with any_app.app_context():
        admin = db.session().scalar(sa.select(User).where(User.username == demo.ADMIN[0]))
        assert admin.is_admin and admin.email_verified
        names = set(db.session().scalars(sa.select(Project.name)))
        assert {"requests-toolbelt", "flask-tiny-utils"} <= names
        users = db.session().scalar(sa.select(sa.func.count()).select_from(User))
    # Running it again starts over instead of failing on duplicates.
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    with any_app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == users
