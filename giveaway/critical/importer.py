"""Import the download counts of one period from a CSV or JSON file or URL.

Formats: CSV `project,downloads` (header optional), or the JSON rows format of
the public top-packages datasets (`{"rows": [{"project", "download_count"}],
"rows_before_limit_at_least": N}`).

The file is streamed: rows go in chunks into a temporary staging table
(executemany of plain tuples, COPY on PostgreSQL), and set-based statements
then create unknown projects and replace the period's counts. Everything runs
in the caller's transaction, so a bad row anywhere means nothing changes: the
caller rolls back when `ImportFailed` is raised.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import ijson
import requests
from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.critical.models import DownloadCount, DownloadImport, DownloadPeriod
from giveaway.critical.periods import Period
from giveaway.db import UTCDateTime
from giveaway.projects import names

# JSON rows are written this many at a time; CSV goes in blocks of BLOCK_CHARS.
CHUNK = 50_000
MAX_NAME = 200
# Every bad row is counted; this many are listed.
MAX_SHOWN_ERRORS = 50

Progress = Callable[[int], None]


class SourceError(Exception):
    """The source could not be read (missing file, network trouble, HTTP error)."""


@dataclass
class RowError:
    where: str  # "line 12" (CSV) or "row 7" (JSON, counted from 0)
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class ImportFailed(Exception):
    """The source is unusable; nothing was changed."""

    message: str
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def __str__(self) -> str:
        if not self.error_count:
            return self.message
        shown = "\n  ".join(str(e) for e in self.errors)
        more = self.error_count - len(self.errors)
        tail = f"\n  … and {more} more" if more > 0 else ""
        return f"{self.message}\n  {shown}{tail}"


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
    # Seconds spent in each step, for the benchmark.
    stages: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        verb = "replaced" if self.replaced else "imported"
        size = f", dataset index size {self.dataset_count:,}" if self.dataset_count else ""
        return (
            f"Period {self.period} {verb} from {self.source}: {self.rows:,} rows, "
            f"{self.projects:,} projects ({self.projects_created:,} new){size} "
            f"in {self.seconds:.1f}s."
        )


class _Errors:
    """Every bad row is counted; only the first few are kept for the report."""

    def __init__(self, limit: int = MAX_SHOWN_ERRORS) -> None:
        self.limit = limit
        self.kept: list[RowError] = []
        self.count = 0

    def add(self, where: str, message: str) -> None:
        self.count += 1
        if len(self.kept) < self.limit:
            self.kept.append(RowError(where, message))


# --- reading the source -------------------------------------------------------------


@contextmanager
def open_source(source: str, *, timeout: float = 30.0) -> Iterator[IO[bytes]]:
    """A binary file for a path or an http(s) URL (downloaded to a spooled temp file)."""
    if source.startswith(("http://", "https://")):
        spool = _download(source, timeout)
        try:
            yield spool
        finally:
            spool.close()
        return
    if "://" in source:
        raise SourceError(f"{source}: only file paths and http(s) URLs are supported")
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise SourceError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        yield handle
    finally:
        handle.close()


def _download(url: str, timeout: float) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code >= 400:
                raise SourceError(
                    f"{url}: the server answered HTTP {response.status_code} "
                    f"{response.reason or ''}".rstrip()
                )
            for chunk in response.iter_content(chunk_size=1024 * 1024):
                spool.write(chunk)
    except requests.Timeout:
        spool.close()
        raise SourceError(f"{url}: timed out after {timeout:g}s") from None
    except requests.RequestException as exc:
        spool.close()
        raise SourceError(f"{url}: download failed ({exc.__class__.__name__})") from None
    except SourceError:
        spool.close()
        raise
    spool.seek(0)
    return spool


def _first_byte(handle: IO[bytes]) -> bytes:
    """The first non-blank byte (after a BOM), leaving the stream at the start."""
    head = handle.read(4096)
    handle.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        head = head[3:]
    stripped = head.lstrip()
    return stripped[:1]


# --- parsing --------------------------------------------------------------------


def _count(value: Any) -> int | None:
    """A download count: a non-negative integer (JSON number or digit string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_COUNT else None
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit() and len(stripped) <= 15:
            return int(stripped)
    return None


def _name_problem(raw: str) -> str | None:
    if not raw:
        return "the project name is empty"
    if len(raw) > MAX_NAME or not names.is_valid(raw):
        return f"{raw[:80]!r} is not a valid project name"
    return None


def _bad_count(value: object) -> str:
    return f"the download count must be a whole number from 0 to 10^15, not {str(value)[:40]!r}"


# Characters of a valid name; a newline separates names in the bulk checks.
_NAME_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
# Counts above this are surely a mistake, and sums must stay inside 64 bits.
MAX_COUNT = 10**15


def _names_ok(raws: list[str]) -> bool:
    """True when every name is valid, checked for the whole list in a few C-level passes."""
    if not raws or not all(raws) or max(map(len, raws)) > MAX_NAME:
        return False
    joined = "\n".join(raws)
    if not joined.isascii():
        return False
    if len(joined.encode("ascii").translate(None, _NAME_CHARS)) != len(raws) - 1:
        return False
    seps = joined.replace("_", "-").replace(".", "-")
    return not (seps.startswith("-") or seps.endswith("-") or "\n-" in seps or "-\n" in seps)


def _counts_ok(counts: list[str]) -> bool:
    if not counts or not all(counts) or max(map(len, counts)) > 15:
        return False
    joined = "".join(counts)
    return joined.isascii() and joined.isdigit()


Chunk = tuple[list[str], list[Any]]
BLOCK_CHARS = 4 * 1024 * 1024


def _csv_chunks(handle: IO[bytes], errors: _Errors) -> Iterator[Chunk]:
    """CSV in blocks: plain blocks are split in bulk, others go through the csv module."""
    textfile = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        line = 0
        head = textfile.readline()
        while head and not head.strip():
            line += 1
            head = textfile.readline()
        carry = head
        try:
            cells = next(csv.reader([head])) if head else []
        except csv.Error:
            cells = []
        if [c.strip().lower() for c in cells] == ["project", "downloads"]:
            line += 1
            carry = ""
        while True:
            block = textfile.read(BLOCK_CHARS)
            data = carry + block
            if block:
                cut = data.rfind("\n")
                if cut < 0:
                    carry = data
                    continue
                part, carry = data[: cut + 1], data[cut + 1 :]
            else:
                part, carry = data, ""
            if part:
                yield from _csv_block(part, line, errors)
                line += part.count("\n")
            if not block:
                break
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"the file is not UTF-8 text (byte {exc.start})") from None
    finally:
        textfile.detach()


def _csv_block(part: str, offset: int, errors: _Errors) -> Iterator[Chunk]:
    if '"' not in part:
        body = part.replace("\r\n", "\n") if "\r" in part else part
        if "\r" not in body:
            lines = body.split("\n")
            if lines[-1] == "":
                lines.pop()
            if lines and "" not in lines:
                cells = ",".join(lines).split(",")
                if len(cells) == 2 * len(lines):
                    raws, counts = cells[0::2], cells[1::2]
                    if _names_ok(raws) and _counts_ok(counts):
                        yield raws, counts
                        return
    yield from _csv_slow(part, offset, errors)


def _csv_slow(part: str, offset: int, errors: _Errors) -> Iterator[Chunk]:
    """Row by row, to find and report each bad line with its number."""
    reader = csv.reader(io.StringIO(part, newline=""))
    raws: list[str] = []
    counts: list[Any] = []
    try:
        for record in reader:
            where = f"line {offset + reader.line_num}"
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != 2:
                errors.add(where, f"expected 2 columns (project,downloads), found {len(record)}")
                continue
            raw, count = record[0].strip(), record[1].strip()
            problem = _name_problem(raw)
            if problem:
                errors.add(where, problem)
                continue
            downloads = _count(count)
            if downloads is None:
                errors.add(where, _bad_count(count))
                continue
            raws.append(raw)
            counts.append(downloads)
    except csv.Error as exc:
        raise ImportFailed(
            f"the file is not valid CSV (line {offset + reader.line_num}): {exc}"
        ) from None
    if raws:
        yield raws, counts


class _JsonMeta:
    def __init__(self) -> None:
        self.dataset_count: int | None = None
        self.saw_rows = False


def _json_rows(handle: IO[bytes], errors: _Errors, meta: _JsonMeta) -> Iterator[tuple[str, int]]:
    """Stream the rows; top-level fields after the rows are caught on the way."""
    events = ijson.parse(handle, use_float=True)
    index = -1
    try:
        for prefix, event, value in events:
            if prefix == "rows.item" and event == "start_map":
                index += 1
                row = _json_object(events, "rows.item")
                yield from _json_row(index, row, errors)
            elif prefix == "rows.item" and event == "start_array":
                index += 1
                _skip_array(events)
                errors.add(f"row {index}", "a row must be an object")
            elif prefix == "rows.item" and event in ("string", "number", "boolean", "null"):
                index += 1
                errors.add(f"row {index}", "a row must be an object")
            elif prefix == "rows" and event == "start_array":
                meta.saw_rows = True
            elif prefix == "rows_before_limit_at_least" and event == "number":
                count = _count(value)
                if count is None:
                    raise ImportFailed(
                        "rows_before_limit_at_least must be a whole number of 0 or more"
                    )
                meta.dataset_count = count
            elif prefix == "" and event not in ("start_map", "end_map", "map_key"):
                raise ImportFailed("the JSON document must be an object with a rows list")
            elif prefix == "" and event == "start_map":
                continue
    except ijson.JSONError as exc:
        # yajl's message spans lines (a caret under the text): keep its first line.
        reason = (str(exc).strip().splitlines() or ["unreadable"])[0].strip()
        where = "before the first row" if index < 0 else f"after row {index}"
        raise ImportFailed(f"the file is not valid JSON ({where}): {reason}") from None
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"the file is not UTF-8 text (byte {exc.start})") from None
    if not meta.saw_rows:
        raise ImportFailed('the JSON document has no "rows" list')


def _skip_array(events: Iterator[tuple[str, str, Any]]) -> None:
    depth = 1
    for _prefix, event, _value in events:
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return


def _json_object(events: Iterator[tuple[str, str, Any]], prefix: str) -> dict[str, Any] | None:
    """Collect one row object's scalar fields (nested values mark the row bad)."""
    row: dict[str, Any] = {}
    key: str | None = None
    depth = 0
    nested = False
    for _prefix, event, value in events:
        if depth == 0:
            if event == "end_map":
                return None if nested else row
            if event == "map_key":
                key = value
                continue
            if event in ("start_map", "start_array"):
                depth = 1
                nested = True
                continue
            if key is not None:
                row[key] = value
        else:
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
    raise ijson.IncompleteJSONError("unexpected end of the document")


def _json_row(index: int, row: dict[str, Any] | None, errors: _Errors) -> Iterator[tuple[str, int]]:
    where = f"row {index}"
    if row is None:
        errors.add(where, "a row must hold plain project and download_count values")
        return
    if "project" not in row or "download_count" not in row:
        missing = [k for k in ("project", "download_count") if k not in row]
        errors.add(where, "missing " + " and ".join(missing))
        return
    raw = row["project"]
    if not isinstance(raw, str):
        errors.add(where, "the project name must be a string")
        return
    raw = raw.strip()
    problem = _name_problem(raw)
    if problem:
        errors.add(where, problem)
        return
    value = row["download_count"]
    if isinstance(value, float) and value.is_integer() and value >= 0:
        value = int(value)
    downloads = _count(value)
    if downloads is None:
        errors.add(where, _bad_count(value))
        return
    yield raw, downloads


def _json_chunks(handle: IO[bytes], errors: _Errors, meta: _JsonMeta) -> Iterator[Chunk]:
    raws: list[str] = []
    counts: list[Any] = []
    for raw, downloads in _json_rows(handle, errors, meta):
        raws.append(raw)
        counts.append(downloads)
        if len(raws) >= CHUNK:
            yield raws, counts
            raws, counts = [], []
    if raws:
        yield raws, counts


# --- writing ------------------------------------------------------------------------


class _Staging:
    """Temporary tables on the session's own connection.

    Rows go into `critical_staging` as they come (cheap appends); then one
    GROUP BY sums the rows of each project into `critical_merged`. On SQLite
    that table is keyed and ordered by name, so the lookups into projects run
    in index order; PostgreSQL hash-joins it and needs no key.
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.raw = self.connection.connection.driver_connection
        self.pg = self.dialect == "postgresql"
        cursor = self.raw.cursor()
        if self.pg:
            for ddl in (
                "CREATE TEMP TABLE IF NOT EXISTS critical_staging (name text NOT NULL, "
                "display text NOT NULL, downloads bigint NOT NULL) ON COMMIT DROP",
                # Unique by construction (GROUP BY); no index to maintain.
                "CREATE TEMP TABLE IF NOT EXISTS critical_merged (name text NOT NULL, "
                "display text NOT NULL, downloads bigint NOT NULL) ON COMMIT DROP",
                "TRUNCATE critical_staging, critical_merged",
            ):
                cursor.execute(ddl)
        else:
            # A bigger page cache for this connection keeps the name index in
            # memory.
            cursor.execute("PRAGMA cache_size=-262144")
            for ddl in (
                "CREATE TEMP TABLE IF NOT EXISTS critical_staging "
                "(name TEXT NOT NULL, display TEXT NOT NULL, downloads INTEGER NOT NULL)",
                "CREATE TEMP TABLE IF NOT EXISTS critical_merged (name TEXT PRIMARY KEY, "
                "display TEXT NOT NULL, downloads INTEGER NOT NULL) WITHOUT ROWID",
                "DELETE FROM critical_staging",
                "DELETE FROM critical_merged",
            ):
                cursor.execute(ddl)
        cursor.close()

    def write(self, normalized: list[str], raws: list[str], counts: list[Any]) -> None:
        cursor = self.raw.cursor()
        try:
            if self.pg:
                # Valid names hold no tab, newline or backslash: COPY's text format as is.
                lines = "\n".join(
                    map("\t".join, zip(normalized, raws, map(str, counts), strict=False))
                )
                with cursor.copy(
                    "COPY critical_staging (name, display, downloads) FROM STDIN"
                ) as copy:
                    copy.write(lines + "\n")
            else:
                # Digit strings become integers through the column's INTEGER affinity.
                cursor.executemany(
                    "INSERT INTO critical_staging VALUES (?, ?, ?)",
                    zip(normalized, raws, counts, strict=False),
                )
        finally:
            cursor.close()

    def merge(self) -> None:
        cursor = self.raw.cursor()
        cursor.execute(
            "INSERT INTO critical_merged (name, display, downloads) "
            "SELECT name, MIN(display), SUM(downloads) FROM critical_staging GROUP BY name"
        )
        if self.pg:
            # Temporary tables get no statistics otherwise; the joins need them.
            cursor.execute("ANALYZE critical_merged")
        cursor.close()

    def drop(self) -> None:
        if not self.pg:
            cursor = self.raw.cursor()
            cursor.execute("DROP TABLE IF EXISTS temp.critical_staging")
            cursor.execute("DROP TABLE IF EXISTS temp.critical_merged")
            cursor.execute("PRAGMA cache_size=-2000")
            cursor.close()


def _stage(
    staging: _Staging, chunks: Iterator[Chunk], errors: _Errors, progress: Progress | None
) -> int:
    """Normalise names and write the chunks; returns how many good rows there were."""
    good = 0
    for raws, counts in chunks:
        good += len(raws)
        # After the first bad row nothing more is written, but the whole
        # file is still read so that every bad row is reported.
        if not errors.count:
            staging.write(names.normalize_many(raws), raws, counts)
        if progress:
            progress(good + errors.count)
    return good


_NEW_PROJECTS = text(
    "INSERT INTO projects (name, display_name, created_at) "
    "SELECT m.name, m.display, :now FROM critical_merged m "
    "WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.name = m.name) "
    "ORDER BY m.name"
).bindparams(bindparam("now", type_=UTCDateTime))

_COUNTS = text(
    "INSERT INTO download_counts (period_id, project_id, downloads) "
    "SELECT :period_id, p.id, m.downloads FROM critical_merged m "
    "JOIN projects p ON p.name = m.name"
)
# PostgreSQL hash-joins in no particular order; key order makes the primary
# key's inserts appends (2.0 s instead of 3.4 s for 800,000 rows). On SQLite
# the name order of critical_merged is already close to id order.
_COUNTS_PG = text(_COUNTS.text + " ORDER BY p.id")


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
    errors = _Errors()
    meta = _JsonMeta()
    first = _first_byte(handle)
    if not first:
        raise ImportFailed("the file is empty")
    is_json = first in (b"{", b"[")
    chunks = _json_chunks(handle, errors, meta) if is_json else _csv_chunks(handle, errors)

    staging = _Staging(session)
    try:
        stages: dict[str, float] = {}
        mark = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            stages[name] = now - mark
            mark = now

        good = _stage(staging, chunks, errors, progress)
        lap("read+stage")
        if errors.count:
            raise ImportFailed(
                f"{errors.count:,} bad rows, nothing imported:", errors.kept, errors.count
            )
        if good == 0:
            raise ImportFailed("the file has no rows, nothing imported")
        staging.merge()
        lap("merge")

        now = clock.now()
        existing = session.scalar(
            select(DownloadPeriod).where(DownloadPeriod.period == period.name)
        )
        replaced = existing is not None
        if existing is None:
            existing = DownloadPeriod(
                period=period.name, starts_on=period.starts_on, ends_on=period.ends_on
            )
            session.add(existing)
            session.flush()
        else:
            session.execute(delete(DownloadCount).where(DownloadCount.period_id == existing.id))
        lap("replace")
        created = session.execute(_NEW_PROJECTS, {"now": now}).rowcount
        lap("new projects")
        projects = session.execute(
            _COUNTS_PG if staging.pg else _COUNTS, {"period_id": existing.id}
        ).rowcount
        lap("counts")
        if projects is None or projects < 0:
            projects = session.scalar(
                select(func.count())
                .select_from(DownloadCount)
                .where(DownloadCount.period_id == existing.id)
            )
        existing.dataset_count = meta.dataset_count
        existing.projects = projects or 0
        existing.imported_at = now
        seconds = time.perf_counter() - started
        session.add(
            DownloadImport(
                period=period.name,
                source=source[:1000],
                rows=good,
                projects=projects or 0,
                projects_created=max(created or 0, 0),
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
        projects=projects or 0,
        projects_created=max(created or 0, 0),
        dataset_count=meta.dataset_count,
        replaced=replaced,
        seconds=seconds,
        stages=stages,
    )
