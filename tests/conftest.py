"""Fixtures: the app on SQLite and on PostgreSQL, clients, signing in, mail.

Every app fixture (`app`, `pg_app`, `any_app`) takes its settings from
`base_config`, then the `app_settings` fixture (a folder's conftest may
override it), then every `@pytest.mark.config(**settings)` marker, the one
nearest the test last: module-level `pytestmark` first, the test's own after.
Test data comes from `tests/factories.py`; `auth` signs in and out.

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
from tests.factories import ADMIN_TOTP_SECRET, TEST_PASSWORD, make_user

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "GIVEAWAY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


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


@pytest.fixture
def app_settings() -> dict[str, object]:
    """Settings a whole folder of tests needs; a folder's conftest overrides this."""
    return {}


def requested_settings(request: pytest.FixtureRequest) -> dict[str, object]:
    """`app_settings`, then the `config` markers from the farthest to the nearest."""
    settings = dict(request.getfixturevalue("app_settings"))
    for marker in reversed(list(request.node.iter_markers("config"))):
        settings.update(marker.kwargs)
    return settings


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
def app(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Flask]:
    """The app on a fresh SQLite database."""
    application = make_sqlite_app(tmp_path, sqlite_template, **requested_settings(request))
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture
def pg_app(request: pytest.FixtureRequest, tmp_path: Path, pg_url: str) -> Iterator[Flask]:
    """The app on the run's PostgreSQL database, emptied first."""
    application = make_pg_app(tmp_path, pg_url, **requested_settings(request))
    yield application
    application.extensions["db.engine"].dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on each database in turn: for rules where the database matters."""
    settings = requested_settings(request)
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        application = make_sqlite_app(tmp_path, template, **settings)
    else:
        application = make_pg_app(tmp_path, request.getfixturevalue("pg_url"), **settings)
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


def login_2fa(client: FlaskClient, username: str, secret: str = ADMIN_TOTP_SECRET):  # type: ignore[no-untyped-def]
    """Sign in with the password and a fresh TOTP code (each code works once)."""
    return AuthActions(client).login_with_totp(username, secret=secret)


class AuthActions:
    """Signing in and out through the pages, as a person does (flaskr's `AuthActions`)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    @property
    def app(self) -> Flask:
        return self.client.application

    def register(
        self,
        username: str = "newbie",
        email: str | None = None,
        password: str = TEST_PASSWORD,
        confirm: str | None = None,
    ):  # type: ignore[no-untyped-def]
        """Fill in the registration form."""
        return post_form(
            self.client,
            "/account/register",
            {
                "username": username,
                "email": email if email is not None else f"{username}@example.org",
                "password": password,
                "password_confirm": confirm if confirm is not None else password,
            },
        )

    def login(
        self, username: str = "alice", password: str = TEST_PASSWORD, *, next_url: str | None = None
    ):  # type: ignore[no-untyped-def]
        """Fill in the sign-in form (the password step only)."""
        data = {"username": username, "password": password}
        if next_url is not None:
            data["next"] = next_url
        return post_form(self.client, "/account/login", data)

    def login_with_totp(
        self,
        username: str = "root",
        password: str = TEST_PASSWORD,
        *,
        secret: str = ADMIN_TOTP_SECRET,
    ):  # type: ignore[no-untyped-def]
        """Sign in with the password, then a fresh code of the authenticator app.

        Each code works once, so the account's last used step is forgotten
        first: a test may sign the same account in twice within 30 seconds.
        """
        import pyotp

        from giveaway import clock
        from giveaway.accounts.models import User

        with self.app.app_context():
            session = db.session()
            session.execute(
                sa.update(User)
                .where(sa.func.lower(User.username) == username.lower())
                .values(totp_last_step=None)
            )
            session.commit()
        response = self.login(username, password)
        assert response.status_code == 302 and "/login/2fa" in response.headers["Location"], (
            response
        )
        with self.app.app_context():
            code = pyotp.TOTP(secret).at(clock.now())  # the app's clock: tests may set it
        response = post_form(
            self.client, "/account/login/2fa/totp", {"code": code}, page="/account/login/2fa"
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self):  # type: ignore[no-untyped-def]
        """Sign out with the form every signed-in page carries."""
        return post_form(self.client, "/account/logout", {}, page="/account/")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def user(app: Flask):  # type: ignore[no-untyped-def]
    return make_user(app)
