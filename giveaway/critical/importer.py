"""Import the download counts of one period: read, stage, replace the period.

The pieces: `sources` opens a file or URL (bounded in time), `readers` streams
CSV or JSON rows and reports every bad one, `staging` writes them through
temporary tables. Everything runs in the caller's transaction, so a bad row
anywhere means nothing changes: the caller rolls back when `ImportFailed` is
raised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.badrows import BadRows
from giveaway.critical import readers
from giveaway.critical.models import DownloadCount, DownloadImport, DownloadPeriod
from giveaway.critical.periods import Period
from giveaway.critical.readers import ImportFailed
from giveaway.critical.sources import SourceError, open_source
from giveaway.critical.staging import Staging
from giveaway.projects import names

__all__ = ["ImportFailed", "ImportResult", "SourceError", "import_downloads", "open_source"]

Progress = Callable[[int], None]


@dataclass
class ImportResult:
    period: str
    source: str
    rows: int
    projects: int
    projects_created: int
    dataset_count: int | None
    replaced: bool
    seconds: float

    def summary(self) -> str:
        verb = "replaced" if self.replaced else "imported"
        size = f", dataset index size {self.dataset_count:,}" if self.dataset_count else ""
        return (
            f"Period {self.period} {verb} from {self.source}: {self.rows:,} rows, "
            f"{self.projects:,} projects ({self.projects_created:,} new){size} "
            f"in {self.seconds:.1f}s."
        )


def _stage(
    staging: Staging,
    chunks: Iterator[readers.Chunk],
    errors: BadRows,
    progress: Progress | None,
) -> int:
    """Normalise names and write the chunks; returns how many good rows there were."""
    good = 0
    for raws, counts in chunks:
        good += len(raws)
        # After the first bad row nothing more is written, but the whole
        # file is still read so that every bad row is reported.
        if not errors:
            staging.write(names.normalize_many(raws), raws, counts)
        if progress:
            progress(good + errors.count)
    return good


def _period_row(session: Session, period: Period) -> tuple[DownloadPeriod, bool]:
    """The period's row, emptied of its counts if it was imported before."""
    existing = session.scalar(select(DownloadPeriod).where(DownloadPeriod.period == period.name))
    if existing is not None:
        session.execute(delete(DownloadCount).where(DownloadCount.period_id == existing.id))
        return existing, True
    row = DownloadPeriod(period=period.name, starts_on=period.starts_on, ends_on=period.ends_on)
    session.add(row)
    session.flush()
    return row, False


def import_downloads(
    session: Session,
    handle: IO[bytes],
    period: Period,
    *,
    source: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Replace `period`'s counts with the file's; raises ImportFailed (caller rolls back)."""
    started = time.perf_counter()
    errors = BadRows(readers.MAX_SHOWN_ERRORS)
    meta = readers.JsonMeta()
    chunks = readers.chunks(handle, errors, meta)
    staging = Staging(session)
    try:
        good = _stage(staging, chunks, errors, progress)
        if errors:
            raise ImportFailed(f"{errors.count:,} bad rows, nothing imported:", errors)
        if good == 0:
            raise ImportFailed("the file has no rows, nothing imported")
        staging.merge()
        now = clock.now()
        row, replaced = _period_row(session, period)
        created, projects = staging.apply(session, row.id, now)
        if projects is None:
            projects = session.scalar(
                select(func.count())
                .select_from(DownloadCount)
                .where(DownloadCount.period_id == row.id)
            )
        projects = projects or 0
        row.dataset_count = meta.dataset_count
        row.projects = projects
        row.imported_at = now
        seconds = time.perf_counter() - started
        session.add(
            DownloadImport(
                period=period.name,
                source=source[:1000],
                rows=good,
                projects=projects,
                projects_created=created,
                dataset_count=meta.dataset_count,
                imported_at=now,
                duration_ms=int(seconds * 1000),
            )
        )
        session.flush()
    finally:
        staging.drop()
    return ImportResult(
        period=period.name,
        source=source,
        rows=good,
        projects=projects,
        projects_created=created,
        dataset_count=meta.dataset_count,
        replaced=replaced,
        seconds=seconds,
    )
