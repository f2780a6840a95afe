"""Download statistics per period, the import log, and critical designations."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.db import Base, UTCDateTime
from giveaway.projects.models import Project


class DownloadPeriod(Base):
    """One imported period (a month or a day); re-importing it replaces its counts."""

    __tablename__ = "download_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "2026-03" for a month, "2026-03-14" for a day.
    period: Mapped[str] = mapped_column(String(10), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    # Inclusive: the last day the period covers.
    ends_on: Mapped[date] = mapped_column(Date)
    # The dataset's own count of projects with downloads (its index size), if it gave one.
    dataset_count: Mapped[int | None] = mapped_column(BigInteger)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def is_month(self) -> bool:
        return len(self.period) == 7


class DownloadCount(Base):
    """A project's downloads in one period: the one table that grows with the index.

    No foreign keys, on purpose: checking them row by row doubled the time of
    an 800,000-row import on PostgreSQL. The importer writes only ids it has
    just joined from projects and download_periods, and neither is deleted.
    """

    __tablename__ = "download_counts"
    __table_args__ = (
        # SQLite sums a project's periods by scanning this covering index in
        # project order (no sort, no table lookups: twice as fast). PostgreSQL
        # hashes a sequential scan instead and would only pay to maintain it.
        Index("ix_download_counts_project_totals", "project_id", "period_id", "downloads").ddl_if(
            dialect="sqlite"
        ),
    )

    period_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    downloads: Mapped[int] = mapped_column(BigInteger)


class DownloadImport(Base):
    """The log of every import, kept even when a later import replaces the period."""

    __tablename__ = "download_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10), index=True)
    source: Mapped[str] = mapped_column(String(1000))
    rows: Mapped[int] = mapped_column(Integer)
    projects: Mapped[int] = mapped_column(Integer)
    projects_created: Mapped[int] = mapped_column(Integer, default=0)
    dataset_count: Mapped[int | None] = mapped_column(BigInteger)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    duration_ms: Mapped[int] = mapped_column(Integer)


class CriticalDesignation(Base):
    """Why a project became critical: the run that first designated it. Never changed."""

    __tablename__ = "critical_designations"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    # Exclusive: the first day after the window (the first of the as-of month).
    window_end: Mapped[date] = mapped_column(Date)
    index_size: Mapped[int] = mapped_column(BigInteger)
    cutoff_rank: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    downloads: Mapped[int] = mapped_column(BigInteger)
    designated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    project: Mapped[Project] = relationship()


class CriticalNotice(Base):
    """A maintainer was told that a project of theirs is critical (never twice)."""

    __tablename__ = "critical_notices"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    user: Mapped[User] = relationship()
