"""One address in any letter case is one account, on SQLite as on PostgreSQL.

SQLite's lower() folds ASCII only: "Ünal@example.org" and "ünal@example.org"
both registered there (PostgreSQL refused the second), and a reset asked for
one mailed the other's account.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from giveaway import db, migrate
from giveaway.accounts import service
from giveaway.accounts.models import User
from giveaway.inputs import caseless
from tests.accounts.conftest import page_text
from tests.conftest import AuthActions, make_user, outbox_for

# Pairs that are one address to a person, but differ beyond ASCII case.
SAME_ADDRESS = [
    ("Ünal@example.org", "ünal@example.org"),
    ("ÇELIK@example.org", "çelik@example.org"),
    ("ΣΟΦΊΑ@example.org", "σοφία@example.org"),
    ("Straße@example.org", "STRASSE@example.org"),
    ("U\u0308nal@example.org", "ünal@example.org"),
]


@pytest.mark.parametrize(("first", "second"), SAME_ADDRESS)
def test_a_second_registration_in_another_case_is_refused(any_app, first, second):
    client = any_app.test_client()
    assert AuthActions(client).register("first", first).status_code == 302
    other = any_app.test_client()
    response = AuthActions(other).register("second", second)
    assert response.status_code == 400
    assert "already uses this email address" in page_text(response)
    with any_app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == 1


@pytest.mark.parametrize(("first", "second"), SAME_ADDRESS)
def test_the_database_refuses_two_accounts_with_one_address(any_app, first, second):
    """Two registrations racing past the check meet the unique index."""
    make_user(any_app, "first", email=first)
    with any_app.app_context():
        session = db.session()
        session.add(User(username="second", email=second))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


@pytest.mark.parametrize(("stored", "typed"), SAME_ADDRESS)
def test_a_reset_reaches_the_account_of_that_address(any_app, stored, typed):
    make_user(any_app, "unal", email=stored)
    make_user(any_app, "someone", email="someone@example.org")
    outbox = outbox_for(any_app)
    with any_app.test_request_context():
        user = service.request_password_reset(db.session(), typed)
        db.commit()
    assert user is not None and user.username == "unal"
    [message] = outbox.messages
    assert caseless(stored) in caseless(str(message["To"]))


def test_look_ups_by_email_fold_case_in_python(any_app):
    make_user(any_app, "unal", email="Ünal@Example.org")
    with any_app.app_context():
        session = db.session()
        for typed in ("ünal@example.org", "ÜNAL@EXAMPLE.ORG", " U\u0308nal@example.org "):
            found = service.by_email(session, typed)
            assert found is not None and found.username == "unal", typed
        assert service.by_email(session, "unal@example.org") is None


def test_changing_the_address_changes_its_key(app):
    user = make_user(app, "unal", email="old@example.org")
    with app.app_context():
        session = db.session()
        row = session.get(User, user.id)
        row.email = "Ünal@example.org"
        session.commit()
        assert service.by_email(session, "ünal@example.org").id == user.id
        assert service.by_email(session, "old@example.org") is None


def _database_at_0006(tmp_path):  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate.upgrade(engine, "0006_admin")
    return engine


def _add_user(conn, username: str, email: str) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        sa.text(
            "INSERT INTO users (username, email, created_at, is_admin, session_version) "
            "VALUES (:u, :e, '2026-01-01 00:00:00', 0, 0)"
        ),
        {"u": username, "e": email},
    )


def test_the_migration_fills_the_key_of_existing_accounts(tmp_path):
    engine = _database_at_0006(tmp_path)
    with engine.begin() as conn:
        _add_user(conn, "unal", "Ünal@Example.org")
        _add_user(conn, "bob", "bob@example.org")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        keys = dict(conn.execute(sa.text("SELECT username, email_key FROM users")).all())
    assert keys == {"unal": "ünal@example.org", "bob": "bob@example.org"}
    engine.dispose()


def test_the_migration_names_accounts_that_share_an_address(tmp_path):
    engine = _database_at_0006(tmp_path)
    with engine.begin() as conn:
        _add_user(conn, "unal", "Ünal@example.org")
        _add_user(conn, "unal2", "ünal@example.org")
    with pytest.raises(RuntimeError, match=r"unal and unal2 \(ünal@example.org\)"):
        migrate.upgrade(engine)
    assert migrate.current(engine) == "0006_admin"
    engine.dispose()


def test_the_admin_search_finds_an_address_in_any_case(any_app):
    from giveaway.admin.service import search_users

    make_user(any_app, "unal", email="Ünal@example.org")
    make_user(any_app, "bob", email="bob@example.org")
    with any_app.app_context():
        session = db.session()
        for typed in ("ÜNAL", "ünal@", "NAL@EXAMPLE"):
            assert [u.username for u in session.scalars(search_users(typed))] == ["unal"], typed


def test_a_bulk_insert_that_names_no_key_gets_one(any_app):
    """Core INSERTs (benchmarks, bulk loads) skip the model's hooks; the default fills the key."""
    from datetime import UTC, datetime

    with any_app.app_context():
        session = db.session()
        session.execute(
            sa.insert(User),
            [
                {
                    "username": f"bulk{i}",
                    "email": f"Ünal{i}@Example.org",
                    "created_at": datetime.now(UTC),
                }
                for i in range(3)
            ],
        )
        session.commit()
        assert service.by_email(session, "ünal1@example.org").username == "bulk1"
