"""The demo step leaves the demo maintainer with a critical project."""

from __future__ import annotations

from flask import Flask

from giveaway import db, demo
from giveaway.accounts.models import User
from giveaway.critical import service
from tests.critical.conftest import critical_names


def test_demo_makes_two_demo_projects_critical(app: Flask) -> None:
    with app.app_context():
        lines = demo.build(reset=True)
    assert any("requests-toolbelt, zeroconf-lite" in line for line in lines)
    names = critical_names(app)
    assert {"requests-toolbelt", "zeroconf-lite"} <= names
    assert not {"flask-tiny-utils", "py-yaml-fast"} & names
    with app.app_context():
        session = db.session()
        maria = session.query(User).filter_by(username="maria").one()
        mine = service.critical_projects_of(session, maria.id)
        assert [p.name for p in mine] == ["requests-toolbelt"]
        assert "six months before" in mine[0].why
