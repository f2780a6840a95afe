"""giveaway.dialect: the one place where SQLite and PostgreSQL differ, on each."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from giveaway import db, dialect
from giveaway.admin.models import AdoptionSnapshot
from giveaway.claims.models import PromoCode
from giveaway.twofactor.models import UsedChallenge

LOCK = 0x7465_7374  # "test"


def test_upsert_inserts_then_updates_the_same_row(any_app):
    day = date(2026, 3, 1)
    with any_app.app_context():
        session = db.session()
        for maintainers in (10, 12):
            dialect.upsert(
                session,
                AdoptionSnapshot,
                {"day": day, "maintainers": maintainers, "with_any": 3},
                key=["day"],
                update=["maintainers"],
            )
        db.commit()
        rows = session.execute(sa.select(AdoptionSnapshot.day, AdoptionSnapshot.maintainers)).all()
    assert [tuple(r) for r in rows] == [(day, 12)]


def test_insert_if_absent_says_whether_it_inserted(any_app):
    values = {"digest": "a" * 64, "expires_at": datetime(2026, 3, 1, tzinfo=UTC)}
    with any_app.app_context():
        session = db.session()
        assert dialect.insert_if_absent(session, UsedChallenge, values) is True
        assert dialect.insert_if_absent(session, UsedChallenge, values) is False
        db.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(UsedChallenge)) == 1


def test_only_one_transaction_holds_the_lock(any_app):
    with any_app.app_context(), db.separate_session() as first:
        assert dialect.try_lock(first, LOCK) is True
        with db.separate_session() as second:
            if dialect.name(second) == "sqlite":
                # SQLite's write lock: the second waits its busy timeout; keep it short.
                second.connection().exec_driver_sql("PRAGMA busy_timeout=50")
            assert dialect.try_lock(second, LOCK) is False
    # Once the first transaction has ended, the lock is free again.
    with any_app.app_context(), db.separate_session() as third:
        assert dialect.try_lock(third, LOCK) is True


def test_wait_lock_is_taken_inside_the_transaction(any_app):
    with any_app.app_context(), db.separate_session() as session:
        dialect.wait_lock(session, LOCK, sqlite_table="promo_codes")
        assert session.in_transaction()
        with db.separate_session() as other:
            if dialect.name(other) == "sqlite":
                other.connection().exec_driver_sql("PRAGMA busy_timeout=50")
            assert dialect.try_lock(other, LOCK) is False


def test_skip_locked_only_where_the_database_has_it(any_app):
    pick = sa.select(PromoCode.id).limit(1)
    with any_app.app_context():
        session = db.session()
        name = dialect.name(session)
        sql = str(dialect.skip_locked(pick, name).compile(session.get_bind()))
    if name == "postgresql":
        assert "FOR UPDATE SKIP LOCKED" in sql
    else:
        assert "FOR UPDATE" not in sql


def test_staging_table_round_trip(any_app):
    columns = [("name", "text"), ("downloads", "bigint")]
    with any_app.app_context():
        session = db.session()
        name = dialect.name(session)
        raw = session.connection().connection.driver_connection
        dialect.create_staging_table(raw, name, "t_stage", columns, key="name")
        dialect.load_staging_rows(raw, name, "t_stage", ["name", "downloads"], [("a", 5), ("b", 7)])
        dialect.analyze_staging_table(raw, name, "t_stage")
        total = session.execute(sa.text("SELECT SUM(downloads) FROM t_stage")).scalar_one()
        assert int(total) == 12
        # Created again in the same transaction: empty, not a duplicate table.
        dialect.create_staging_table(raw, name, "t_stage", columns, key="name")
        assert session.execute(sa.text("SELECT COUNT(*) FROM t_stage")).scalar_one() == 0
        dialect.drop_staging_table(raw, name, "t_stage")
        db.rollback()


def test_engine_options_follow_the_url():
    # SQLite: the busy timeout (SQLITE_BUSY_TIMEOUT) is the driver's wait for the lock.
    assert dialect.engine_options("sqlite:////tmp/x.db", pool_size=5, sqlite_busy_timeout=7) == {
        "connect_args": {"timeout": 7}
    }
    pg = dialect.engine_options("postgresql+psycopg://h/db", pool_size=5)
    assert pg["pool_size"] == 5 and pg["max_overflow"] == 5 and pg["pool_pre_ping"] is False
    # No ping per checkout: connections are recycled, and pinged only after sitting idle.
    assert pg["pool_recycle"] == dialect.POOL_RECYCLE
    # Every wait on PostgreSQL is bounded: a pooled connection, and connecting.
    bounded = dialect.engine_options(
        "postgresql+psycopg://h/db",
        pool_size=9,
        max_overflow=0,
        pool_timeout=3,
        connect_timeout=4,
    )
    assert bounded["max_overflow"] == 0 and bounded["pool_timeout"] == 3
    assert bounded["connect_args"] == {"connect_timeout": 4}


def test_staging_columns_load_rows_given_column_by_column(any_app):
    columns = [("name", "text"), ("display", "text"), ("downloads", "bigint")]
    values = {"name": ["a", "b", "c"], "display": ["A", "B", "C"], "downloads": ["5", 7, "11"]}
    with any_app.app_context():
        session = db.session()
        name = dialect.name(session)
        raw = session.connection().connection.driver_connection
        dialect.create_staging_table(raw, name, "t_columns", columns)
        dialect.load_staging_columns(raw, name, "t_columns", values)
        dialect.load_staging_columns(raw, name, "t_columns", {k: v[:1] for k, v in values.items()})
        rows = session.execute(
            sa.text(
                "SELECT name, display, SUM(downloads) FROM t_columns GROUP BY name, display "
                "ORDER BY name"
            )
        ).all()
        dialect.drop_staging_table(raw, name, "t_columns")
        db.rollback()
    # Digit strings and integers alike end up as numbers (that the database sums).
    assert [(n, d, int(total)) for n, d, total in rows] == [
        ("a", "A", 10),
        ("b", "B", 7),
        ("c", "C", 11),
    ]


def test_staging_rows_and_columns_must_line_up(any_app):
    with any_app.app_context():
        session = db.session()
        name = dialect.name(session)
        raw = session.connection().connection.driver_connection
        dialect.create_staging_table(raw, name, "t_ragged", [("name", "text"), ("n", "bigint")])
        with pytest.raises(ValueError):
            dialect.load_staging_columns(raw, name, "t_ragged", {"name": ["a", "b"], "n": [1]})
        with pytest.raises(ValueError):
            dialect.load_staging_rows(raw, name, "t_ragged", ["name", "n"], [("a", 1), ("b",)])
        count = session.execute(sa.text("SELECT COUNT(*) FROM t_ragged")).scalar_one()
        dialect.drop_staging_table(raw, name, "t_ragged")
        db.rollback()
    assert count == 0


def test_page_cache_grows_while_staging_then_goes_back(any_app):
    with any_app.app_context():
        session = db.session()
        name = dialect.name(session)
        raw = session.connection().connection.driver_connection
        dialect.grow_page_cache(raw, name, 262_144)
        if name == "sqlite":
            assert session.execute(sa.text("PRAGMA cache_size")).scalar_one() == -262_144
        dialect.reset_page_cache(raw, name)
        if name == "sqlite":
            assert session.execute(sa.text("PRAGMA cache_size")).scalar_one() == -2000
        # PostgreSQL: nothing changed on the connection, which still works.
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
        db.rollback()


def test_insert_select_is_sorted_only_where_the_join_leaves_no_order(any_app):
    select_sql = "SELECT p.id FROM projects p"
    with any_app.app_context():
        name = dialect.name(db.session())
    sql = dialect.in_append_order(select_sql, "p.id", name)
    if name == "postgresql":
        assert sql == "SELECT p.id FROM projects p ORDER BY p.id"
    else:
        assert sql == select_sql


def test_lock_row_reads_the_row_afresh_even_through_a_proxy(any_app):
    """The account lock is taken on `current_user`, a proxy: it must lock and refresh
    the row it stands for."""
    from werkzeug.local import LocalProxy

    from giveaway.accounts.models import User
    from tests.factories import make_user

    make_user(any_app, "lockee")
    with any_app.app_context():
        session = db.session()
        user = session.scalar(sa.select(User).where(User.username == "lockee"))
        before = user.session_version
        # Another transaction changes the row; the lock then shows what it committed.
        with db.separate_session() as other:
            other.execute(
                sa.update(User).where(User.id == user.id).values(session_version=before + 1)
            )
            other.commit()
        db.rollback()
        user = session.get(User, user.id)
        proxy = LocalProxy(lambda: user)
        dialect.lock_row(session, proxy, touch="session_version")
        assert user.session_version == before + 1
        db.rollback()
