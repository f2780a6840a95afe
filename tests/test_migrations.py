"""The migrations build exactly the schema the models describe, on both databases."""

import warnings

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from giveaway import db, migrate
from giveaway.models import Base


def _for_other_dialect(index: sa.Index, dialect: str) -> bool:
    """An index declared with ddl_if(dialect=...) for another database."""
    declared = {ix.name: ix for table in Base.metadata.tables.values() for ix in table.indexes}
    condition = getattr(declared.get(index.name), "_ddl_if", None)
    wanted = getattr(condition, "dialect", None)
    return wanted is not None and wanted != dialect


def differences(engine: sa.Engine) -> list:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes; they are checked below.
        warnings.simplefilter("ignore")
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    dialect = engine.dialect.name
    return [
        d
        for d in diffs
        if not (isinstance(d, tuple) and d[0] == "add_index" and _for_other_dialect(d[1], dialect))
    ]


def test_one_head():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"


def test_migrations_match_the_models(any_app):
    with any_app.app_context():
        assert differences(db.engine()) == []
        assert migrate.current(db.engine()) == migrate.head()


def test_case_insensitive_unique_indexes_exist(any_app):
    with any_app.app_context(), db.engine().connect() as conn:
        if db.dialect_name() == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'users'"
        names = set(conn.scalars(sa.text(query)))
    assert {"uq_users_username_lower", "uq_users_email_lower"} <= names


@pytest.mark.parametrize("dialect", ["sqlite"])
def test_downgrade_to_base_and_back(tmp_path, dialect):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    migrate.upgrade(engine)
    cfg = migrate.alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()


def test_init_db_is_idempotent(runner):
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert "up to date" in first.output
