"""`giveaway demo`: a ready database with realistic data to click through.

Built as a list of steps; each area adds its own. Each step takes the session
and returns lines to print.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import text
from sqlalchemy.orm import Session

from giveaway import clock, db, migrate
from giveaway.accounts.models import User
from giveaway.accounts.passwords import hash_password
from giveaway.admin.demo import admin_2fa, history
from giveaway.claims.demo import giveaway_demo
from giveaway.critical.demo import downloads
from giveaway.links import external_url
from giveaway.models import Base
from giveaway.projects import names
from giveaway.projects.models import Project, Role, RoleName

ADMIN = ("admin", "admin@example.org", "demo-admin-pass")
MAINTAINER = ("maria", "maria@example.org", "demo-maintainer-pass")
OTHER = ("otto", "otto@example.org", "demo-otto-pass")

PROJECTS = [
    # (display name, maintainers with roles)
    ("requests-toolbelt", [("maria", RoleName.OWNER), ("otto", RoleName.MAINTAINER)]),
    ("Flask-Tiny_Utils", [("maria", RoleName.MAINTAINER)]),
    ("zeroconf-lite", [("otto", RoleName.OWNER)]),
    ("py.yaml-fast", [("maria", RoleName.OWNER)]),
]

Step = Callable[[Session], list[str]]


def reset_database() -> None:
    engine = db.engine()
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)


def people(session: Session) -> list[str]:
    now = clock.now()
    created = now - timedelta(days=900)
    users = {}
    for (username, email, password), is_admin in (
        (ADMIN, True),
        (MAINTAINER, False),
        (OTHER, False),
    ):
        user = User(
            username=username,
            email=email,
            password_hash=hash_password(password),
            password_changed_at=created,
            email_verified_at=created,
            created_at=created,
            is_admin=is_admin,
        )
        session.add(user)
        users[username] = user
    session.flush()
    for display, maintainers in PROJECTS:
        project = Project(name=names.normalize(display), display_name=display, created_at=created)
        session.add(project)
        session.flush()
        for username, role in maintainers:
            session.add(Role(user_id=users[username].id, project_id=project.id, role_name=role))
    return [
        f"  admin:      {ADMIN[0]} / {ADMIN[2]}",
        f"  maintainer: {MAINTAINER[0]} / {MAINTAINER[2]}",
        f"  another maintainer: {OTHER[0]} / {OTHER[2]}",
    ]


def critical_projects(session: Session) -> list[str]:
    return downloads(session)


def _giveaway(session: Session) -> list[str]:
    return giveaway_demo(session)


def _admin(session: Session) -> list[str]:
    return admin_2fa(session, ADMIN[0]) + history(session)


STEPS: list[Step] = [people, critical_projects, _giveaway, _admin]


def build(*, reset: bool = True) -> list[str]:
    if reset:
        reset_database()
    else:
        migrate.upgrade(db.engine())
    session = db.session()
    login_url = external_url("accounts.login")
    lines = [f"Demo data is ready. Sign in at {login_url} as:"]
    for step in STEPS:
        lines.extend(step(session))
        session.flush()
    db.commit()
    lines.append("Mail goes to " + _mail_target())
    return lines


def _mail_target() -> str:
    return current_app.config["MAIL_URL"]
