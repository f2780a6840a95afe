"""Fixtures: the app on SQLite and on PostgreSQL, clients, factories, mail.

PostgreSQL tests need a server at GIVEAWAY_TEST_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres). Outside CI they skip
with the reason when it is unreachable; under CI=true they fail instead.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import responses
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from giveaway import create_app, db, migrate
from giveaway.models import Base

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "GIVEAWAY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_PASSWORD = "a-long-test-passphrase"  # noqa: S105


def require(condition: bool, reason: str) -> None:
    """Skip when `condition` is false, except under CI where it must hold."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def base_config(tmp_path: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "MAIL_URL": f"file://{tmp_path / 'outbox'}",
        # Tests read the outbox right after a request: send before the response.
        "MAIL_DELIVERY": "inline",
        "BASE_URL": "http://localhost",
        "SERVER_NAME": None,
        "BREACHED_PASSWORDS_URL": "https://breached.test/range/",
        "WTF_CSRF_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


# --- SQLite -----------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating is slow)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def make_sqlite_app(tmp_path: Path, template: Path, **overrides: object) -> Flask:
    path = tmp_path / "giveaway.sqlite3"
    shutil.copy(template, path)
    config = base_config(tmp_path) | {"DATABASE_URL": f"sqlite:///{path}"} | overrides
    return create_app(config)


# --- PostgreSQL ---------------------------------------------------------------


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc.__class__.__name__}: {exc}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh migrated PostgreSQL database for this run, dropped afterwards."""
    problem = _pg_reachable()
    require(problem is None, problem or "")
    name = f"giveaway_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def truncate_all(engine: sa.Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def make_pg_app(tmp_path: Path, url: str, **overrides: object) -> Flask:
    config = base_config(tmp_path) | {"DATABASE_URL": url} | overrides
    app = create_app(config)
    truncate_all(app.extensions["db.engine"])
    return app


# --- the app -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_network() -> Iterator[responses.RequestsMock]:
    """No test calls out. The breached-password API answers "not breached"."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"https?://(localhost|127\.0\.0\.1)(:\d+)?/"))
        mock.add(
            responses.GET,
            re.compile(r"https://breached\.test/range/[0-9A-F]{5}"),
            body="0000000000000000000000000000000000A:1\r\n",
        )
        yield mock


@pytest.fixture
def app(tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The app on a fresh SQLite database."""
    application = make_sqlite_app(tmp_path, sqlite_template)
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture
def pg_app(tmp_path: Path, pg_url: str) -> Iterator[Flask]:
    """The app on the run's PostgreSQL database, emptied first."""
    application = make_pg_app(tmp_path, pg_url)
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on each database in turn: for rules where the database matters."""
    if request.param == "sqlite":
        application = make_sqlite_app(tmp_path, request.getfixturevalue("sqlite_template"))
    else:
        application = make_pg_app(tmp_path, request.getfixturevalue("pg_url"))
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


# --- helpers ---------------------------------------------------------------------


class Outbox:
    """The messages the file transport wrote, oldest first."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    @property
    def directory(self) -> Path:
        return Path(self.app.config["MAIL_URL"].removeprefix("file://"))

    @property
    def messages(self) -> list[EmailMessage]:
        if not self.directory.exists():
            return []
        files = sorted(self.directory.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in files
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def __len__(self) -> int:
        return len(self.messages)

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()

    def links(self, message: EmailMessage) -> list[str]:
        return re.findall(r"https?://\S+", self.text(message))


def outbox_for(app: Flask) -> Outbox:
    return Outbox(app)


@pytest.fixture
def outbox(app: Flask) -> Outbox:
    return Outbox(app)


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on the page at `path`."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def post_form(
    client: FlaskClient, path: str, data: dict[str, str], *, page: str | None = None, **kw
):  # type: ignore[no-untyped-def]
    """POST `data` with the CSRF token taken from `page` (default: `path`)."""
    token = csrf_token(client, page or path)
    return client.post(path, data={"csrf_token": token, **data}, **kw)


def login(client: FlaskClient, username: str, password: str = TEST_PASSWORD):  # type: ignore[no-untyped-def]
    return post_form(client, "/account/login", {"username": username, "password": password})


def make_user(app: Flask, username: str = "alice", **fields: object):  # type: ignore[no-untyped-def]
    """An account with a password (TEST_PASSWORD) and a verified email, committed."""
    from giveaway import clock
    from giveaway.accounts.models import User
    from giveaway.accounts.passwords import hash_password

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
        session.refresh(user)
        session.expunge(user)
        _ = hash_password
        return user


_HASHES: dict[str, str] = {}


def _cached_hash(password: object) -> str | None:
    """argon2 is slow on purpose; tests reuse one hash per password."""
    if password is None:
        return None
    from giveaway.accounts.passwords import hash_password

    key = str(password)
    if key not in _HASHES:
        _HASHES[key] = hash_password(key)
    return _HASHES[key]


def make_project(
    app: Flask, name: str, *, maintainers=(), critical: bool = False, **fields: object
):  # type: ignore[no-untyped-def]
    """A project with (user, role) maintainers; `critical` marks it critical now."""
    from giveaway import clock
    from giveaway.projects import names
    from giveaway.projects.models import Project, Role, RoleName

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
        session.refresh(project)
        session.expunge(project)
        return project


@pytest.fixture
def user(app: Flask):  # type: ignore[no-untyped-def]
    return make_user(app)


ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test secret


def make_admin(app: Flask, username: str = "root", **fields: object):  # type: ignore[no-untyped-def]
    """An administrator with TOTP turned on (the admin pages need 2FA)."""
    from giveaway import clock

    fields.setdefault("totp_secret", ADMIN_TOTP_SECRET)
    fields.setdefault("first_2fa_enabled_at", clock.now())
    return make_user(app, username, is_admin=True, **fields)


def login_2fa(client: FlaskClient, username: str, secret: str = ADMIN_TOTP_SECRET):  # type: ignore[no-untyped-def]
    """Sign in with the password and a fresh TOTP code (each code works once)."""
    import pyotp
    from sqlalchemy import update

    from giveaway.accounts.models import User

    app = client.application
    with app.app_context():
        session = db.session()
        session.execute(
            update(User)
            .where(sa.func.lower(User.username) == username.lower())
            .values(totp_last_step=None)
        )
        session.commit()
    response = login(client, username)
    assert response.status_code == 302 and "/login/2fa" in response.headers["Location"], response
    from giveaway import clock

    with app.app_context():
        code = pyotp.TOTP(secret).at(clock.now())  # the app's clock: tests may set it
    response = post_form(
        client, "/account/login/2fa/totp", {"code": code}, page="/account/login/2fa"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response
