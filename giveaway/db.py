"""The database: engine, declarative base, one session per request or command."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, cast

from flask import Flask, Response, current_app, g, has_app_context
from sqlalchemy import CursorResult, DateTime, MetaData, Result, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from giveaway import dialect

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back as aware UTC.

    SQLite has no time zones; this keeps comparisons in Python safe on both
    databases.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# The set-up of every new SQLite connection, for engines built elsewhere (tests, bench).
_sqlite_pragmas = dialect.sqlite_pragmas


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout: float = 10.0,
    connect_timeout: float = 5.0,
    sqlite_busy_timeout: float = 20.0,
) -> Engine:
    """The engine for `url`; every wait on the database is bounded.

    SQLite: a writer waits up to `sqlite_busy_timeout` seconds for the write lock.
    pysqlite opens the transaction (BEGIN) right before its first write, so a
    write transaction holds the lock only from that write to its commit, and
    never has to upgrade a read snapshot (which fails at once, whatever the
    timeout). PostgreSQL: each process keeps up to `pool_size` + `max_overflow`
    connections (default overflow: `pool_size`); a thread waits `pool_timeout`
    seconds for one, and connecting gives up after `connect_timeout`.
    """
    options = dialect.engine_options(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        connect_timeout=connect_timeout,
        sqlite_busy_timeout=sqlite_busy_timeout,
    )
    engine = create_engine(url, echo=echo, **options)
    dialect.prepare_engine(engine, sqlite_busy_timeout=sqlite_busy_timeout)
    return engine


def init_app(app: Flask) -> None:
    """Bind the engine (DATABASE_URL was checked by settings.check) and the boundary."""
    engine = make_engine(
        app.config["DATABASE_URL"],
        echo=app.config["DATABASE_ECHO"],
        pool_size=app.config["DATABASE_POOL_SIZE"],
        max_overflow=app.config["DATABASE_MAX_OVERFLOW"],
        pool_timeout=float(app.config["DATABASE_POOL_TIMEOUT"]),
        connect_timeout=float(app.config["DATABASE_CONNECT_TIMEOUT"]),
        sqlite_busy_timeout=float(app.config["SQLITE_BUSY_TIMEOUT"]),
    )
    app.extensions["db.engine"] = engine
    app.extensions["db.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)

    @app.after_request
    def commit_at_boundary(response: Response) -> Response:
        # Services validate before they write, so a 4xx answer may still carry
        # writes worth keeping (a failed sign-in event); a 5xx never does.
        if "db_session" in g:
            if response.status_code < 500:
                try:
                    commit()
                except DBAPIError as exc:
                    # The commit itself failed (the connection died, the server
                    # went away): nothing was written, so the page the view
                    # rendered would be a lie. Answer as the app answers any
                    # database error (its error handler, registered elsewhere).
                    replacement = app.make_response(app.handle_user_exception(exc))
                    for name, value in response.headers.items():
                        if name.lower() not in _BODY_HEADERS:
                            replacement.headers.setdefault(name, value)
                    return replacement
            else:
                rollback()
        return response

    @app.teardown_appcontext
    def close_session(exc: BaseException | None) -> None:
        db_session = g.pop("db_session", None)
        connection = g.pop("db_connection", None)
        try:
            if db_session is not None:
                if exc is not None or db_session.in_transaction():
                    db_session.rollback()
                db_session.close()
        finally:
            if connection is not None:
                connection.close()


# Headers that describe a response's own body or target, not kept on a replacement.
_BODY_HEADERS = ("content-type", "content-length", "location", "set-cookie", "retry-after")


# Whether a session's current transaction has sent a write: set on every ORM
# flush and on every INSERT/UPDATE/DELETE run through session.execute, cleared
# when the outermost transaction ends. The PostgreSQL claim may roll its whole
# transaction back on a same-person race, which is only harmless when nothing
# was written before it (see claims.claim.claim).
_WROTE = "giveaway.wrote"


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, flush_context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_dml(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def has_written(session: Session) -> bool:
    """True when the session's current transaction has written, or has writes pending."""
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def engine() -> Engine:
    return current_app.extensions["db.engine"]


def session() -> Session:
    """The session of the current request or command."""
    if "db_session" not in g:
        # One pooled connection for the whole request or command: a request that
        # commits and then writes again (the outbox row after a claim) checks
        # out, and pings, a connection once instead of once per transaction.
        connection = current_app.extensions["db.engine"].connect()
        g.db_connection = connection
        g.db_session = current_app.extensions["db.sessionmaker"](bind=connection)
    return g.db_session


def commit() -> None:
    """Commit the current session (what else happens then hooks the session's events)."""
    if "db_session" in g:
        g.db_session.commit()


def rollback() -> None:
    """Roll the current session back."""
    if "db_session" in g:
        g.db_session.rollback()


def dialect_name() -> str:
    return dialect.name(engine())


def ping() -> bool:
    """True when the database answers."""
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return False


P = ParamSpec("P")
R = TypeVar("R")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a CLI command in one session, committed when it returns."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            rollback()
            raise
        commit()
        return result

    return wrapper


def affected_rows(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE, DELETE or INSERT … SELECT matched.

    Session.execute types every result as a plain Result; for those statements
    it is a CursorResult, which counts them (-1 where the driver cannot say).
    """
    return cast(CursorResult[*tuple[Any, ...]], result).rowcount


@contextmanager
def separate_session() -> Iterator[Session]:
    """A session of its own, outside the request's (for threads and jobs)."""
    maker = current_app.extensions["db.sessionmaker"] if has_app_context() else None
    assert maker is not None, "separate_session needs an app context"
    s = maker()
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        s.close()
