"""A small world with known figures for the admin insight tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from giveaway import db
from giveaway.claims.models import PromoCode
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential
from tests.claims.factories import make_batch
from tests.conftest import make_project, make_user

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
OLD = datetime(2020, 1, 1, tzinfo=UTC)


def set_clock(app: Flask, when: datetime) -> None:
    app.config["CLOCK"] = lambda: when


def add_keys(app: Flask, user, count: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        for i in range(count):
            session.add(
                WebAuthnCredential(
                    user_id=user.id,
                    credential_id=secrets.token_bytes(16),
                    public_key=b"k",
                    label=f"key {i}",
                    created_at=NOW,
                )
            )
        session.commit()


def add_recovery_codes(app: Flask, user, count: int = 3) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        for i in range(count):
            session.add(RecoveryCode(user_id=user.id, code_hash=f"h{user.id}-{i}", created_at=NOW))
        session.commit()


def claim_for(app: Flask, batch_id: int, user, when: datetime) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        code_id = session.scalar(
            select(PromoCode.id)
            .where(PromoCode.batch_id == batch_id, PromoCode.claimed_by_id.is_(None))
            .order_by(PromoCode.id)
            .limit(1)
        )
        session.execute(
            update(PromoCode)
            .where(PromoCode.id == code_id)
            .values(claimed_by_id=user.id, claimed_at=when)
        )
        session.commit()


@dataclass
class World:
    users: dict[str, object]


def funnel_world(app: Flask) -> World:
    """Eligible a, b, c, d; claimed b, c, d; keys b:1 c:2 d:2; recovery codes d.

    e had TOTP before (not eligible), f is unverified, h's account is too new,
    g maintains only a non-critical project, x has no project at all.
    """
    set_clock(app, NOW)
    app.config["GIVEAWAY_ACCOUNT_CUTOFF"] = "2025-01-01"
    u = {}
    u["a"] = make_user(app, "a", created_at=OLD)
    u["b"] = make_user(app, "b", created_at=OLD)
    u["c"] = make_user(app, "c", created_at=OLD)
    u["d"] = make_user(app, "d", created_at=OLD, totp_secret="JBSWY3DPEHPK3PXP")
    u["e"] = make_user(
        app, "e", created_at=OLD, totp_secret="JBSWY3DPEHPK3PXP", first_2fa_enabled_at=OLD
    )
    u["f"] = make_user(app, "f", created_at=OLD, email_verified_at=None)
    u["g"] = make_user(app, "g", created_at=OLD)
    u["h"] = make_user(app, "h", created_at=datetime(2025, 6, 1, tzinfo=UTC))
    u["x"] = make_user(app, "x", created_at=OLD)
    make_project(
        app,
        "Crit-One",
        maintainers=[(u[k], "Owner") for k in "acdefh"] + [(u["b"], "Maintainer")],
        critical=True,
    )
    # a maintains two critical projects: counted once.
    make_project(app, "crit-two", maintainers=[(u["a"], "Maintainer")], critical=True)
    make_project(app, "quiet-lib", maintainers=[(u["g"], "Owner"), (u["a"], "Owner")])
    batch = make_batch(app, count=10, expires_at=NOW + timedelta(days=30))
    for k in "bcd":
        claim_for(app, batch, u[k], NOW - timedelta(days=1))
    add_keys(app, u["b"], 1)
    add_keys(app, u["c"], 2)
    add_keys(app, u["d"], 2)
    add_recovery_codes(app, u["d"])
    with app.app_context():
        session = db.session()
        session.execute(
            update(type(u["d"]))
            .where(type(u["d"]).username.in_(["b", "c", "d"]))
            .values(first_2fa_enabled_at=NOW)
        )
        session.commit()
    return World(users=u)
