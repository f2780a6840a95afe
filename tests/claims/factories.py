"""Factories for the claims tests: batches of codes, eligible maintainers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, update

from giveaway import clock, db
from giveaway.claims.models import PromoBatch, PromoCode
from tests.conftest import make_project, make_user

_counter = itertools.count(1)


def make_batch(
    app: Flask,
    name: str | None = None,
    *,
    count: int = 5,
    codes: list[str] | None = None,
    expires_in: timedelta = timedelta(days=60),
    expires_at: datetime | None = None,
    keys_per_code: int = 2,
    vendor: str = "KeyVendor",
) -> int:
    """A committed batch; returns its id. Codes are NAME-0001… unless given."""
    n = next(_counter)
    name = name or f"batch-{n}"
    with app.app_context():
        expires = expires_at or clock.now() + expires_in
        codes = codes if codes is not None else [f"B{n}-{i:04d}-CODE" for i in range(count)]
        session = db.session()
        batch = PromoBatch(
            name=name,
            vendor=vendor,
            keys_per_code=keys_per_code,
            expires_at=expires,
            uploaded_at=clock.now(),
            code_count=len(codes),
        )
        session.add(batch)
        session.flush()
        if codes:
            session.execute(
                insert(PromoCode),
                [{"code": c, "batch_id": batch.id, "expires_at": expires} for c in codes],
            )
        session.commit()
        return batch.id


def make_maintainer(app: Flask, username: str = "maria", **fields: object):  # type: ignore[no-untyped-def]
    """An eligible maintainer: verified, old account, no 2FA, Owner of a critical project."""
    fields.setdefault("created_at", datetime(2020, 1, 1, tzinfo=UTC))
    user = make_user(app, username, **fields)
    make_project(app, f"proj-{username}", maintainers=[(user, "Owner")], critical=True)
    return user


def make_maintainers(app: Flask, count: int, prefix: str = "m") -> list[int]:
    """Many eligible maintainers, fast (one project for all); returns their ids."""
    from giveaway.accounts.models import User
    from giveaway.projects.models import Project, Role, RoleName
    from tests.conftest import _cached_hash

    with app.app_context():
        session = db.session()
        now = clock.now()
        project = Project(
            name=f"{prefix}-shared",
            display_name=f"{prefix}-shared",
            critical_since=now,
            critical_rank=1,
            critical_downloads=1000,
        )
        session.add(project)
        users = [
            User(
                username=f"{prefix}{i:03d}",
                email=f"{prefix}{i:03d}@example.org",
                password_hash=_cached_hash("a-long-test-passphrase"),
                email_verified_at=now,
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
            for i in range(count)
        ]
        session.add_all(users)
        session.flush()
        for u in users:
            session.add(Role(user_id=u.id, project_id=project.id, role_name=RoleName.OWNER))
        session.commit()
        return [u.id for u in users]


def give_code(app: Flask, user, code: str) -> None:  # type: ignore[no-untyped-def]
    """Mark `code` claimed by `user` directly (the claim itself is tested elsewhere)."""
    with app.app_context():
        db.session().execute(
            update(PromoCode)
            .where(PromoCode.code == code)
            .values(claimed_by_id=user.id, claimed_at=clock.now())
        )
        db.session().commit()
