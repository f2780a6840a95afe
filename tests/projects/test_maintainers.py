"""Critical maintainers: the SQL form selects exactly the users the Python form accepts,
on SQLite and PostgreSQL, over roles of every kind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from giveaway import db
from giveaway.accounts.models import User
from giveaway.projects import maintainers
from giveaway.projects.models import Role
from tests.conftest import make_user
from tests.factories import make_project

ONCE = datetime(2025, 1, 1, tzinfo=UTC)


def _world(app):  # type: ignore[no-untyped-def]
    """Users named for what they are: owners, maintainers and other roles of critical
    projects and of ordinary ones, several roles at once, and nobody's role at all."""
    u = {
        name: make_user(app, name)
        for name in (
            "owner",
            "maintainer",
            "both",
            "ordinary-owner",
            "two-ordinary",
            "no-roles",
            "critical-and-ordinary",
        )
    }
    make_project(
        app,
        "critical-a",
        critical=True,
        maintainers=[(u["owner"], "Owner"), (u["both"], "Maintainer")],
    )
    make_project(
        app,
        "critical-b",
        maintainers=[
            (u["maintainer"], "Maintainer"),
            (u["both"], "Owner"),
            (u["critical-and-ordinary"], "Owner"),
        ],
        # Designated once: a project stays critical even with no rank today.
        critical_since=ONCE,
    )
    make_project(
        app,
        "ordinary",
        maintainers=[
            (u["ordinary-owner"], "Owner"),
            (u["two-ordinary"], "Maintainer"),
            (u["critical-and-ordinary"], "Maintainer"),
        ],
    )
    make_project(app, "ordinary-2", maintainers=[(u["two-ordinary"], "Owner")])
    return u


def test_sql_and_python_forms_agree(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        by_sql = set(
            session.scalars(
                select(User.username).where(maintainers.is_critical_maintainer(User.id))
            )
        )
        ids = set(session.scalars(maintainers.critical_maintainer_ids()))
        roles = session.scalars(select(Role).options(selectinload(Role.project))).all()
        by_python = {
            session.get(User, r.user_id).username  # type: ignore[union-attr]
            for r in roles
            if maintainers.counts_as_critical(r)
        }
        id_names = {session.get(User, i).username for i in ids}  # type: ignore[union-attr]
        # Each critical maintainer once, however many critical roles they hold.
        assert len(list(session.scalars(maintainers.critical_maintainer_ids()))) == len(ids)
    assert by_sql == by_python == id_names
    assert by_sql == {"owner", "maintainer", "both", "critical-and-ordinary"}


def test_critical_projects_of_a_user(any_app):  # type: ignore[no-untyped-def]
    u = _world(any_app)
    with any_app.app_context():
        session = db.session()
        assert maintainers.critical_projects_of(session, u["both"].id) == [
            "critical-a",
            "critical-b",
        ]
        assert maintainers.critical_projects_of(session, u["critical-and-ordinary"].id) == [
            "critical-b"
        ]
        assert maintainers.critical_projects_of(session, u["two-ordinary"].id) == []
