"""Benchmark: import six monthly download files and compute the critical projects.

Generates N projects x P monthly CSV files in a temporary folder, then times
1. the portal's real code (importer.import_downloads per file, then
   service.compute) on a fresh database, and
2. the same work in plain SQL (sqlite3 executemany into one table, then a
   window-function RANK over the totals),
in the same run, and prints both times and their ratio.

    /work/main/.venv/bin/python bench/critical.py [--projects 800000]
        [--periods 6] [--database-url postgresql+psycopg://postgres@127.0.0.1/x]
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from giveaway import create_app, db, migrate  # noqa: E402
from giveaway.critical import importer, service  # noqa: E402
from giveaway.critical.periods import add_months, parse_period  # noqa: E402
from giveaway.critical.staging import Staging  # noqa: E402
from giveaway.projects import names  # noqa: E402

AS_OF = date(2026, 4, 15)
SEPARATORS = ["-", "_", ".", "-", "-"]


def display_name(i: int, rng: random.Random) -> str:
    """Names with mixed case and separators, so normalisation has work to do."""
    sep = SEPARATORS[i % len(SEPARATORS)]
    word = f"pkg{sep}{i:x}{sep}tool"
    return word.title() if i % 7 == 0 else word


def generate(folder: Path, projects: int, periods: int, seed: int = 7) -> list[tuple[Path, str]]:
    rng = random.Random(seed)
    display = [display_name(i, rng) for i in range(projects)]
    base = [max(0, int(2e9 / (i + 1) ** 1.15)) for i in range(projects)]
    files = []
    for k in range(periods):
        period = add_months(AS_OF, k - periods)
        name = f"{period:%Y-%m}"
        path = folder / f"{name}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["project", "downloads"])
            order = list(range(projects))
            rng.shuffle(order)
            for i in order:
                jitter = rng.uniform(0.6, 1.4)
                writer.writerow([display[i], int(base[i] * jitter)])
        files.append((path, name))
    return files


class Laps:
    """Seconds spent in each staging step, timed by wrapping the steps from outside.

    The import itself carries no benchmark code: what is not staging is
    reading and checking the file (and the few statements around).
    """

    STEPS = (("write", "stage"), ("merge", "merge"), ("apply", "counts"))

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        for method, label in self.STEPS:
            self._wrap(method, label)

    def _wrap(self, method: str, label: str) -> None:
        original = getattr(Staging, method)

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started

        setattr(Staging, method, timed)

    def take(self, total: float) -> str:
        """This import's steps (and the rest, reading), then start again from zero."""
        steps = dict(self.seconds)
        self.seconds.clear()
        steps = {"read+check": total - sum(steps.values()), **steps}
        return ", ".join(f"{k} {v:.2f}" for k, v in steps.items())


def run_portal(url: str, files: list[tuple[Path, str]], workdir: Path) -> tuple[float, str, str]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "DATABASE_URL": url,
            "MAIL_URL": f"file://{workdir / 'outbox'}",
        }
    )
    engine = app.extensions["db.engine"]
    migrate.upgrade(engine)
    lines = []
    laps = Laps()
    with app.app_context():
        started = time.perf_counter()
        for path, name in files:
            t0 = time.perf_counter()
            with importer.open_source(str(path)) as handle:
                result = importer.import_downloads(
                    db.session(), handle, parse_period(name), source=str(path)
                )
            db.commit()
            took = time.perf_counter() - t0
            lines.append(f"  import {name}: {took:.2f}s ({result.rows:,} rows; {laps.take(took)})")
        t0 = time.perf_counter()
        computed = service.compute(db.session(), AS_OF)
        db.commit()
        lines.append(f"  compute: {time.perf_counter() - t0:.2f}s")
        elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, computed.summary(), "\n".join(lines)


def run_plain(files: list[tuple[Path, str]], workdir: Path) -> tuple[float, int]:
    path = workdir / "plain.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE counts (period TEXT, name TEXT, downloads INTEGER)")
    conn.commit()
    started = time.perf_counter()
    total_rows = 0
    normalize = names.normalize
    for file, period in files:
        with file.open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows = []
            for name, count in reader:
                rows.append((period, normalize(name), int(count)))
                if len(rows) >= 50_000:
                    conn.executemany("INSERT INTO counts VALUES (?, ?, ?)", rows)
                    total_rows += len(rows)
                    rows = []
            conn.executemany("INSERT INTO counts VALUES (?, ?, ?)", rows)
            total_rows += len(rows)
        conn.commit()
    projects = conn.execute("SELECT COUNT(DISTINCT name) FROM counts").fetchone()[0]
    cutoff = math.ceil(projects / 100)
    critical = conn.execute(
        "SELECT COUNT(*) FROM (SELECT name, RANK() OVER (ORDER BY total DESC) AS rnk "
        "FROM (SELECT name, SUM(downloads) AS total FROM counts GROUP BY name)) "
        "WHERE rnk <= ?",
        (cutoff,),
    ).fetchone()[0]
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, critical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=800_000)
    parser.add_argument("--periods", type=int, default=6)
    parser.add_argument(
        "--database-url", help="run the portal's side on this database (default: fresh SQLite)"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the files and databases in this folder (default: temp)"
    )
    parser.add_argument("--skip-plain", action="store_true", help="time only the portal's code")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-critical-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for old in workdir.glob("*.sqlite3*"):
            old.unlink()
        t0 = time.perf_counter()
        files = generate(workdir, args.projects, args.periods)
        print(
            f"generated {args.projects:,} projects x {args.periods} periods "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        url = args.database_url or f"sqlite:///{workdir / 'portal.sqlite3'}"
        portal, summary, detail = run_portal(url, files, workdir)
        print(detail)
        print(f"  {summary}")
        print(f"portal import + compute ({url.split(':')[0]}): {portal:.2f}s")
        if args.skip_plain:
            return
        plain, critical = run_plain(files, workdir)
        print(f"plain SQL (sqlite3 executemany + RANK):   {plain:.2f}s ({critical:,} in the top)")
        print(f"ratio: {portal / plain:.2f}x")


if __name__ == "__main__":
    main()
