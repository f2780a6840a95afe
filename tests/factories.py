"""Factories: the test data of every area, built through the portal's own services.

A batch goes through the pool's `add_batch` (the function the upload page and
`giveaway load-codes` call), a security key through a real WebAuthn
registration with the software authenticator, TOTP and recovery codes through
the two-factor service, download counts through the importer, events through
the events service. Each factory works in its own app context and commits at
the boundary, as a request or a command does (`giveaway.db.commit`). The mail
a service sends while a factory sets the scene (a "key added" notice…) is
delivered, then taken out of the outbox again: a test's outbox holds only the
mail that the test itself caused.

Accounts and projects are rows of the real models: the registration form and
the roles import are tested on their own, and going through them would cost
an argon2 hash per account (passwords are hashed once per run here).
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select, update

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import pool
from giveaway.claims.models import PromoCode
from giveaway.events import service as events
from giveaway.projects import names
from giveaway.projects.models import Project, Role, RoleName
from giveaway.twofactor import keys, recovery, totp
from tests.twofactor.authenticator import SoftwareAuthenticator

TEST_PASSWORD = "a-long-test-passphrase"  # noqa: S105
ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test secret
OLD_ACCOUNT = datetime(2020, 1, 1, tzinfo=UTC)

_counter = itertools.count(1)
_HASHES: dict[str, str] = {}


def set_clock(app: Flask, when: datetime) -> None:
    """Every `clock.now()` of `app` answers `when` from now on."""
    app.config["CLOCK"] = lambda: when


def _cached_hash(password: object) -> str | None:
    """argon2 is slow on purpose; tests reuse one hash per password."""
    if password is None:
        return None
    from giveaway.accounts.passwords import hash_password

    key = str(password)
    if key not in _HASHES:
        _HASHES[key] = hash_password(key)
    return _HASHES[key]


def _detached(session: sa.orm.Session, row: Any) -> Any:
    """`row` with its columns loaded, readable after the app context ends."""
    session.refresh(row)
    session.expunge(row)
    return row


def _fresh(session: sa.orm.Session, user: Any) -> User:
    """The session's own copy of a (possibly detached) account."""
    found = session.get(User, user.id)
    assert found is not None, f"no account with id {user.id}"
    return found


def _outbox_files(app: Flask) -> set[Path]:
    url = str(app.config.get("MAIL_URL") or "")
    if not url.startswith("file://"):
        return set()
    folder = Path(url.removeprefix("file://"))
    return set(folder.glob("*.eml")) if folder.exists() else set()


@contextmanager
def _work(app: Flask) -> Iterator[sa.orm.Session]:
    """One unit of set-up work: committed at its end, its own mail taken back out."""
    before = _outbox_files(app)
    with app.app_context():
        yield db.session()
        db.commit()
    for path in _outbox_files(app) - before:
        path.unlink()


# --- accounts -------------------------------------------------------------------------


def make_user(app: Flask, username: str = "alice", **fields: object) -> User:
    """An account with a password (TEST_PASSWORD) and a verified email, committed."""
    with app.app_context():
        now = clock.now()
        values: dict[str, object] = {
            "username": username,
            "email": f"{username}@example.org",
            "password_hash": _cached_hash(fields.pop("password", TEST_PASSWORD)),
            "password_changed_at": now,
            "email_verified_at": now,
            "created_at": now,
        }
        values.update(fields)
        user = User(**values)
        session = db.session()
        session.add(user)
        session.commit()
        return _detached(session, user)


def make_admin(app: Flask, username: str = "root", **fields: object) -> User:
    """An administrator with TOTP turned on (the admin pages need 2FA)."""
    fields.setdefault("totp_secret", ADMIN_TOTP_SECRET)
    fields.setdefault("first_2fa_enabled_at", clock_now(app))
    return make_user(app, username, is_admin=True, **fields)


def clock_now(app: Flask) -> datetime:
    with app.app_context():
        return clock.now()


def make_maintainer(app: Flask, username: str = "maria", **fields: object) -> User:
    """An eligible maintainer: verified, old account, no 2FA, Owner of a critical project."""
    fields.setdefault("created_at", OLD_ACCOUNT)
    user = make_user(app, username, **fields)
    make_project(app, f"proj-{username}", maintainers=[(user, "Owner")], critical=True)
    return user


def make_maintainers(app: Flask, count: int, prefix: str = "m") -> list[int]:
    """Many eligible maintainers, fast (one shared critical project); returns their ids."""
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
                password_hash=_cached_hash(TEST_PASSWORD),
                email_verified_at=now,
                created_at=OLD_ACCOUNT,
            )
            for i in range(count)
        ]
        session.add_all(users)
        session.flush()
        session.add_all(
            Role(user_id=u.id, project_id=project.id, role_name=RoleName.OWNER) for u in users
        )
        session.commit()
        return [u.id for u in users]


# --- projects and roles -------------------------------------------------------------------


def make_project(
    app: Flask,
    name: str,
    *,
    maintainers: Iterable[Any] = (),
    critical: bool = False,
    **fields: object,
) -> Project:
    """A project with (user, role) maintainers; `critical` marks it critical now."""
    with app.app_context():
        session = db.session()
        values: dict[str, object] = {"name": names.normalize(name), "display_name": name}
        if critical:
            values.update(critical_since=clock.now(), critical_rank=1, critical_downloads=1000)
        values.update(fields)
        project = Project(**values)
        session.add(project)
        session.flush()
        for entry in maintainers:
            user, role = entry if isinstance(entry, tuple) else (entry, RoleName.OWNER)
            session.add(Role(user_id=user.id, project_id=project.id, role_name=RoleName(role)))
        session.commit()
        return _detached(session, project)


def import_downloads(
    app: Flask, period: str, rows: Iterable[tuple[str, int]], *, dataset_count: int | None = None
) -> None:
    """Download counts of one period, through the importer (JSON rows format)."""
    from giveaway.critical import importer
    from giveaway.critical.periods import parse_period

    document: dict[str, object] = {
        "rows": [{"project": project, "download_count": count} for project, count in rows]
    }
    if dataset_count is not None:
        document["rows_before_limit_at_least"] = dataset_count
    with _work(app) as session:
        importer.import_downloads(
            session,
            io.BytesIO(json.dumps(document).encode()),
            parse_period(period),
            source=f"factory:{period}",
        )


def compute_critical(app: Flask, as_of: Any) -> Any:
    """Designate critical projects from the imported counts, as the daily job does."""
    from giveaway.critical import service as critical

    with _work(app) as session:
        result = critical.compute(session, as_of)
    return result


# --- the pool -----------------------------------------------------------------------------


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
    store_url: str | None = None,
    admin: User | None = None,
) -> int:
    """A batch added by the pool's own upload function; returns its id.

    Codes are B<n>-0001-CODE… unless given. The codes are checked by the
    pool's parser, but the expiry is not: tests need batches that are already
    past their date, which the upload form rightly refuses.
    """
    n = next(_counter)
    name = name or f"batch-{n}"
    codes = codes if codes is not None else [f"B{n}-{i:04d}-CODE" for i in range(count)]
    report = pool.parse_codes("\n".join(codes))
    assert not report.problem_count, [str(p) for p in report.problems]
    with _work(app) as session:
        now = clock.now()
        details = pool.BatchDetails(
            name=name,
            vendor=vendor,
            keys_per_code=keys_per_code,
            expires_at=expires_at or now + expires_in,
            store_url=store_url,
        )
        uploader = _fresh(session, admin) if admin is not None else None
        batch = pool.add_batch(session, report.codes, details, uploader, now)
        session.flush()
        batch_id = batch.id
    return batch_id


def give_code(app: Flask, user: Any, code: str, *, when: datetime | None = None) -> None:
    """Hand `code` to `user` directly (the claim itself is tested in tests/claims)."""
    with app.app_context():
        db.session().execute(
            update(PromoCode)
            .where(PromoCode.code == code)
            .values(claimed_by_id=user.id, claimed_at=when or clock.now())
        )
        db.session().commit()


def claim_for(app: Flask, batch_id: int, user: Any, when: datetime) -> None:
    """Hand the first free code of a batch to `user`, claimed at `when`."""
    with app.app_context():
        code = db.session().scalar(
            select(PromoCode.code)
            .where(PromoCode.batch_id == batch_id, PromoCode.claimed_by_id.is_(None))
            .order_by(PromoCode.id)
            .limit(1)
        )
    assert code is not None, f"batch {batch_id} has no free code left"
    give_code(app, user, code, when=when)


# --- two-factor states --------------------------------------------------------------------


def authenticator_for(app: Flask) -> SoftwareAuthenticator:
    """A software key that answers with the app's own WebAuthn origin."""
    return SoftwareAuthenticator(origin=app.config["WEBAUTHN_ORIGIN"])


def add_key(
    app: Flask,
    user: Any,
    label: str = "USB key",
    *,
    used: bool = False,
    authenticator: SoftwareAuthenticator | None = None,
) -> SoftwareAuthenticator:
    """Register a security key for `user` (a real registration); `used`: sign in with it once."""
    key = authenticator or authenticator_for(app)
    with _work(app) as session:
        account = _fresh(session, user)
        options, challenge = keys.registration_options(session, account)
        # The scene says the key is on the account: giving up the free keys is part of it.
        keys.add_key(
            session,
            account,
            label,
            key.create(json.loads(options)),
            challenge,
            give_up_keys=True,
        )
    if used:
        with _work(app) as session:
            account = _fresh(session, user)
            options, challenge = keys.authentication_options(session, account)
            keys.verify_key_signin(session, account, key.get(json.loads(options)), challenge)
    return key


def add_keys(app: Flask, user: Any, count: int) -> None:
    """Register `count` security keys for `user`, named "key 0", "key 1"…"""
    for i in range(count):
        add_key(app, user, f"key {i}")


def enable_totp(app: Flask, user: Any, secret: str | None = None) -> str:
    """Turn on TOTP for `user` as the security page does; returns the secret."""
    secret = secret or totp.new_secret()
    with _work(app) as session:
        account = _fresh(session, user)
        totp.enable_totp(
            session, account, secret, totp.code_at(secret, clock.now()), give_up_keys=True
        )
    return secret


def add_recovery_codes(
    app: Flask, user: Any, count: int | None = None, *, confirmed: bool = True
) -> list[str]:
    """A new set of recovery codes (the account needs 2FA first); returns the plain codes.

    `count` sets how many the service makes (RECOVERY_CODE_COUNT) for this once.
    `confirmed`: one code was typed back (the set counts as saved), as people do.
    """
    configured = app.config["RECOVERY_CODE_COUNT"]
    if count is not None:
        app.config["RECOVERY_CODE_COUNT"] = count
    try:
        with _work(app) as session:
            account = _fresh(session, user)
            codes = recovery.generate_recovery_codes(session, account)
            if confirmed and codes:
                assert recovery.confirm_saved(session, account, codes[0])
    finally:
        app.config["RECOVERY_CODE_COUNT"] = configured
    return codes


# --- events -------------------------------------------------------------------------------


def record_event(
    app: Flask, kind: str, user: Any = None, *, actor: Any = None, **detail: Any
) -> None:
    """An event in the audit trail, recorded by the events service."""
    with _work(app) as session:
        events.record(
            session,
            kind,
            _fresh(session, user) if user is not None else None,
            actor=_fresh(session, actor) if actor is not None else None,
            **detail,
        )


def clear_events(app: Flask) -> None:
    """Start the audit trail empty (the set-up's own events, e.g. the batch upload, go),
    for tests that count every event one step writes."""
    from giveaway.events.models import Event

    with app.app_context():
        db.session().execute(sa.delete(Event))
        db.session().commit()


def events_of(app: Flask, kind: str) -> list[Any]:
    """Every event of `kind`, oldest first, readable after the app context ends."""
    from giveaway.events.models import Event

    with app.app_context():
        found = list(
            db.session().scalars(select(Event).where(Event.kind == kind).order_by(Event.id))
        )
        db.session().expunge_all()
        return found


def reload_user(app: Flask, username: str) -> User | None:
    """The account as the database has it now."""
    from giveaway.accounts.service import by_username

    with app.app_context():
        user = by_username(db.session(), username)
        if user is not None:
            db.session().expunge(user)
        return user


# --- a small world with known figures (the admin insight tests) ----------------------------

FUNNEL_NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class World:
    users: dict[str, Any]


def funnel_world(app: Flask) -> World:
    """Eligible a, b, c, d; claimed b, c, d; keys b:1 c:2 d:2; recovery codes d.

    e had TOTP before (not eligible), f is unverified, h's account is too new,
    g maintains only a non-critical project, x has no project at all.
    """
    set_clock(app, FUNNEL_NOW)
    app.config["GIVEAWAY_ACCOUNT_CUTOFF"] = "2025-01-01"
    old = OLD_ACCOUNT
    u: dict[str, Any] = {}
    for name in "abcdeg":
        u[name] = make_user(app, name, created_at=old)
    u["f"] = make_user(app, "f", created_at=old, email_verified_at=None)
    u["h"] = make_user(app, "h", created_at=datetime(2025, 6, 1, tzinfo=UTC))
    u["x"] = make_user(app, "x", created_at=old)
    # e turned TOTP on back in 2020 and still has it.
    set_clock(app, old)
    enable_totp(app, u["e"])
    set_clock(app, FUNNEL_NOW)
    make_project(
        app,
        "Crit-One",
        maintainers=[(u[k], "Owner") for k in "acdefh"] + [(u["b"], "Maintainer")],
        critical=True,
    )
    # a maintains two critical projects: counted once.
    make_project(app, "crit-two", maintainers=[(u["a"], "Maintainer")], critical=True)
    make_project(app, "quiet-lib", maintainers=[(u["g"], "Owner"), (u["a"], "Owner")])
    batch = make_batch(app, count=10, expires_at=FUNNEL_NOW + timedelta(days=30))
    for k in "bcd":
        claim_for(app, batch, u[k], FUNNEL_NOW - timedelta(days=1))
    add_keys(app, u["b"], 1)
    add_keys(app, u["c"], 2)
    add_keys(app, u["d"], 2)
    enable_totp(app, u["d"])
    add_recovery_codes(app, u["d"], 3)
    for k in "bcde":
        u[k] = reload_user(app, k)
    return World(users=u)
