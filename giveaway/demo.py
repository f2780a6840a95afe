"""`giveaway demo`: a ready database with realistic data to click through.

Built once and kept: a second run finds the demo and only says how to sign in,
so claims, registered keys and the admin's authenticator entry survive a
restart. `--reset` starts over. Built as a list of steps, each area adding its
own; each step reports what it made as it goes. The closing summary is read
back from the database with the rules the pages use, never from constants.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from giveaway import clock, db, migrate
from giveaway.accounts.models import User
from giveaway.accounts.passwords import hash_password
from giveaway.admin import insight
from giveaway.admin.demo import admin_2fa, history
from giveaway.claims import deadline, eligibility
from giveaway.claims.demo import giveaway_demo
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.critical import listing
from giveaway.critical.demo import downloads
from giveaway.links import external_url
from giveaway.models import Base
from giveaway.projects import names
from giveaway.projects.models import Project, Role, RoleName
from giveaway.twofactor import status, totp

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

RESET_HINT = "make demo-reset to start over"

Say = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


@dataclass(frozen=True)
class Step:
    """One step of building the demo: `run` says what it made, in one line."""

    title: str
    run: Callable[[Session, Say], str]


class DemoRefused(Exception):
    """The database holds something other than the demo: building would mix or lose data."""


def reset_database() -> None:
    engine = db.engine()
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate.upgrade(engine)


def where() -> str:
    """The database, as a person would find it: a path for SQLite, else the URL."""
    url = make_url(current_app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite" and url.database:
        path = os.path.abspath(url.database)
        relative = os.path.relpath(path)
        return relative if not relative.startswith("..") else path
    return url.render_as_string(hide_password=True)


def state() -> str:
    """ "absent" (no schema, or no accounts yet), "demo" (the demo's admin is there) or
    "other" (accounts that are not the demo's)."""
    if not inspect(db.engine()).has_table(User.__tablename__):
        return "absent"
    session = db.session()
    if session.scalar(select(func.count()).select_from(User)) == 0:
        return "absent"
    if session.scalar(select(User.id).where(User.username == ADMIN[0], User.is_admin)):
        return "demo"
    return "other"


# --- the steps --------------------------------------------------------------------------


def people(session: Session, say: Say) -> str:
    now = clock.now()
    created = now - timedelta(days=900)
    accounts = ((ADMIN, True), (MAINTAINER, False), (OTHER, False))
    # Each hash takes about half a second on purpose; argon2 releases the GIL, so
    # the three are made side by side.
    say(f"    hashing {len(accounts)} passwords (argon2, slow on purpose)")
    with ThreadPoolExecutor(max_workers=len(accounts)) as workers:
        hashes = list(workers.map(hash_password, [account[2] for account, _ in accounts]))
    users = {}
    for ((username, email, _password), is_admin), password_hash in zip(
        accounts, hashes, strict=True
    ):
        user = User(
            username=username,
            email=email,
            password_hash=password_hash,
            password_changed_at=created,
            email_verified_at=created,
            created_at=created,
            is_admin=is_admin,
        )
        session.add(user)
        users[username] = user
    session.flush()
    roles = 0
    for display, maintainers in PROJECTS:
        project = Project(name=names.normalize(display), display_name=display, created_at=created)
        session.add(project)
        session.flush()
        for username, role in maintainers:
            session.add(Role(user_id=users[username].id, project_id=project.id, role_name=role))
            roles += 1
    return f"{len(users)} accounts, {len(PROJECTS)} projects, {roles} roles"


STEPS: list[Step] = [
    Step("accounts and projects", people),
    Step("six months of downloads, then the critical projects", downloads),
    Step("the giveaway's promo codes", giveaway_demo),
    Step("three weeks of claims, keys and adoption for the admin dashboard", history),
]


def build(*, reset: bool = False, say: Say = _quiet) -> list[str]:
    """Build the demo when there is none (or `reset`), else keep it; the lines to print.

    `say` hears the progress as it happens. Raises DemoRefused for a database
    that holds other data, unless `reset`.
    """
    found = state()
    if found == "other" and not reset:
        raise DemoRefused(
            f"the database in {where()} holds accounts that are not the demo's; "
            "giveaway demo --reset replaces everything in it with the demo"
        )
    # Looking held the tables (PostgreSQL): let go before dropping them.
    db.rollback()
    fresh_codes: list[str] = []
    if reset or found == "absent":
        say(f"Building the demo database in {where()}:")
        started = time.monotonic()
        reset_database()
        session = db.session()
        total = len(STEPS) + 1
        for number, step in enumerate(STEPS, start=1):
            say(f"  [{number}/{total}] {step.title}…")
            began = time.monotonic()
            made = step.run(session, say)
            session.flush()
            say(f"        {made} ({time.monotonic() - began:.1f} s)")
        # Last, and outside the list: its plain recovery codes are printed once, below.
        say(f"  [{total}/{total}] the admin's authenticator app and recovery codes…")
        fresh_codes = admin_2fa(session, ADMIN[0])
        db.commit()
        say(f"Built in {time.monotonic() - started:.1f} s.")
    else:
        migrate.upgrade(db.engine())
        say(f"Using the demo database in {where()} ({RESET_HINT}).")
    session = db.session()
    return (
        sign_in_lines(session, fresh_codes)
        + summary(session, clock.now())
        + ["Mail goes to " + current_app.config["MAIL_URL"]]
    )


def sign_in_lines(session: Session, fresh_codes: list[str]) -> list[str]:
    """How to sign in, from what is stored: the admin's TOTP secret is the one the
    demo created, on every run."""
    lines = [f"Sign in at {external_url('accounts.login')} as:"]
    lines += [
        f"  admin:      {ADMIN[0]} / {ADMIN[2]}",
        f"  maintainer: {MAINTAINER[0]} / {MAINTAINER[2]}",
        f"  another maintainer: {OTHER[0]} / {OTHER[2]}",
    ]
    admin = session.scalar(select(User).where(User.username == ADMIN[0]))
    if admin is None or not admin.totp_secret:
        return lines
    issuer = totp.totp_issuer()
    lines += [
        "  admin pages need 2FA: the admin has an authenticator app (TOTP). Add it to yours with",
        f"    the secret {totp.grouped(admin.totp_secret)}",
        f"    or the URI {totp.provisioning_uri(admin.totp_secret, admin.username, issuer)}",
    ]
    if fresh_codes:
        half = (len(fresh_codes) + 1) // 2
        lines += [
            "    or sign in with one of these single-use recovery codes:",
            "    " + "  ".join(fresh_codes[:half]),
            "    " + "  ".join(fresh_codes[half:]),
        ]
    else:
        left = status.recovery_codes_left(session, admin)
        lines.append(
            f"    or with one of the {left} unused recovery codes printed when the demo was "
            "built (stored hashed, so not shown again); after signing in, /account/security "
            "makes a new set, or make demo-reset starts the demo over"
        )
    return lines


def _next_code(session: Session, now: datetime) -> PromoCode | None:
    """The code the next claim takes: the earliest-expiring free one (as the claim does)."""
    return session.scalars(
        select(PromoCode)
        .where(PromoCode.is_available(now))
        .order_by(PromoCode.expires_at, PromoCode.id)
        .limit(1)
    ).first()


def summary(session: Session, now: datetime) -> list[str]:
    """What the pages will show, read with the same rules and queries they use."""
    critical = listing.critical_page(session).total
    demo_critical = session.scalars(
        select(Project.display_name)
        .where(
            Project.name.in_([names.normalize(display) for display, _ in PROJECTS]),
            Project.critical_since.is_not(None),
        )
        .order_by(Project.critical_rank)
    ).all()
    rows = insight.pool(session, now)
    available = sum(row.available for row in rows)
    lines = [
        f"  critical projects: {critical} (/admin/critical), among them "
        f"{', '.join(demo_critical) or 'none of the demo projects'}",
        f"  promo codes: {available} left to hand out (/admin/)",
    ]
    lines += [
        f"    {row.name}: {row.available} left of {row.total}, to use before "
        f"{deadline.describe(row.expires_at)}"
        for row in rows
    ]
    maria = session.scalar(select(User).where(User.username == MAINTAINER[0]))
    if maria is not None:
        lines.append("  " + maria_line(session, maria, now))
    claims = session.scalar(
        select(func.count()).select_from(PromoCode).where(PromoCode.claimed_by_id.is_not(None))
    )
    lines.append(f"  admin dashboard at /admin/: {claims} codes claimed so far")
    return lines


def maria_line(session: Session, maria: User, now: datetime) -> str:
    result = eligibility.check(session, maria, now)
    if result.claimed is not None:
        claimed = result.claimed
        return (
            f"maria has claimed {claimed.code} "
            f"(use before {deadline.describe(claimed.expires_at)}) and registered "
            f"{status.key_count(session, maria)} security keys; /giveaway/setup walks her "
            "through the rest"
        )
    if not result.eligible:
        reasons = "; ".join(f"{c.title}: {c.reason}" for c in result.failed)
        return f"maria cannot claim now ({reasons})"
    code = _next_code(session, now)
    assert code is not None  # eligible: a code is left
    batch = session.get_one(PromoBatch, code.batch_id)
    return (
        f"maria can claim a code at /giveaway: it will come from the {batch.name}, "
        f"to use before {deadline.describe(code.expires_at)} "
        f"(in {insight.days_until(code.expires_at, now)} days)"
        + (f", redeemed at {batch.store_url}" if batch.store_url else "")
        + "; then /giveaway/setup walks her through registering both keys"
    )
