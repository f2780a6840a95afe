"""Staging download counts in temporary tables, then writing them in a few statements.

Rows go into `critical_staging` as they come, chunk by chunk. One GROUP BY
then sums the rows of each project into `critical_merged`, and set-based
statements create the projects nobody knew and insert the period's counts.
Where SQLite and PostgreSQL differ (the tables' DDL, COPY or executemany,
statistics, the page cache, the order of the counts' insert) giveaway.dialect
decides.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.orm import Session

from giveaway import dialect
from giveaway.db import UTCDateTime, affected_rows

STAGING = "critical_staging"
MERGED = "critical_merged"
_COLUMNS = [("name", "text"), ("display", "text"), ("downloads", "bigint")]
# SQLite's page cache while staging, so that the projects' name index stays in memory.
_CACHE_KIB = 262_144

_NEW_PROJECTS = text(
    "INSERT INTO projects (name, display_name, created_at) "
    "SELECT m.name, m.display, :now FROM critical_merged m "
    "WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.name = m.name) "
    "ORDER BY m.name"
).bindparams(bindparam("now", type_=UTCDateTime))


@cache
def _counts(dialect_name: str) -> TextClause:
    """The period's counts, inserted in the primary key's order where that helps."""
    rows = dialect.in_append_order(
        "SELECT :period_id, p.id, m.downloads FROM critical_merged m "
        "JOIN projects p ON p.name = m.name",
        "p.id",
        dialect_name,
    )
    return text(f"INSERT INTO download_counts (period_id, project_id, downloads) {rows}")  # noqa: S608 - SQL from code


class Staging:
    """Temporary tables on the session's own connection.

    Rows go into `critical_staging` as they come (cheap appends); then one
    GROUP BY sums the rows of each project into `critical_merged`. On SQLite
    that table is keyed and ordered by name, so the lookups into projects run
    in index order; PostgreSQL hash-joins it and needs no key (it is unique by
    construction).
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        raw = self.connection.connection.driver_connection
        assert raw is not None  # a checked-out connection has its driver's (sqlite3, psycopg)
        self.raw = raw
        dialect.grow_page_cache(self.raw, self.dialect, _CACHE_KIB)
        dialect.create_staging_table(self.raw, self.dialect, STAGING, _COLUMNS)
        dialect.create_staging_table(self.raw, self.dialect, MERGED, _COLUMNS, key="name")

    def write(self, normalized: list[str], raws: list[str], counts: list[Any]) -> None:
        # Valid names hold no tab, newline or backslash, as COPY's text format needs;
        # on SQLite digit strings become integers through the column's INTEGER affinity.
        dialect.load_staging_columns(
            self.raw,
            self.dialect,
            STAGING,
            {"name": normalized, "display": raws, "downloads": counts},
        )

    def merge(self) -> None:
        cursor = self.raw.cursor()
        cursor.execute(
            "INSERT INTO critical_merged (name, display, downloads) "
            "SELECT name, MIN(display), SUM(downloads) FROM critical_staging GROUP BY name"
        )
        cursor.close()
        dialect.analyze_staging_table(self.raw, self.dialect, MERGED)

    def apply(self, session: Session, period_id: int, now: datetime) -> tuple[int, int | None]:
        """Create the unknown projects and insert the counts: (projects created, counts)."""
        created = affected_rows(session.execute(_NEW_PROJECTS, {"now": now}))
        counts = session.execute(_counts(self.dialect), {"period_id": period_id})
        rowcount = affected_rows(counts)
        return max(created or 0, 0), (rowcount if rowcount is not None and rowcount >= 0 else None)

    def drop(self) -> None:
        dialect.drop_staging_table(self.raw, self.dialect, STAGING)
        dialect.drop_staging_table(self.raw, self.dialect, MERGED)
        dialect.reset_page_cache(self.raw, self.dialect)
