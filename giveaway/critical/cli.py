"""Commands: import-downloads, compute-critical, list-critical."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask import current_app

from giveaway import clock, csvexport, db
from giveaway.clitools import command, fail
from giveaway.critical import importer, service
from giveaway.critical.periods import parse_period
from giveaway.events import service as events

# A whole download may take this many times the wait allowed for one read.
DEADLINE_FACTOR = 20


class _Progress:
    """Rows read so far, on stderr (one line rewritten on a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, rows: int) -> None:
        self.shown = True
        if self.tty:
            click.echo(f"\r  {rows:,} rows read", err=True, nl=False)
        else:
            click.echo(f"  {rows:,} rows read", err=True)

    def done(self) -> None:
        if self.shown and self.tty:
            click.echo("", err=True)


@command("import-downloads")
@click.argument("source")
@click.option(
    "--period", required=True, help="The month (2026-03) or day (2026-03-14) the counts cover."
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    help="Give up on a URL that is not downloaded within this many seconds "
    f"(default: {DEADLINE_FACTOR} x DOWNLOADS_URL_TIMEOUT).",
)
def import_downloads_command(source: str, period: str, deadline: float | None) -> None:
    """Import download counts of one period from a CSV or JSON file or an http(s) URL.

    CSV: project,downloads (header optional). JSON: the rows format of the
    public top-packages datasets. Importing a period again replaces it.
    """
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        fail(f"--period: {exc}")
        return
    progress = _Progress()
    session = db.session()
    try:
        timeout = float(current_app.config["DOWNLOADS_URL_TIMEOUT"])
        with importer.open_source(
            source, timeout=timeout, deadline=deadline or DEADLINE_FACTOR * timeout
        ) as handle:
            result = importer.import_downloads(
                session, handle, parsed, source=source, progress=progress
            )
    except (importer.SourceError, importer.ImportFailed) as exc:
        progress.done()
        # A source's own message already names it.
        fail(str(exc) if isinstance(exc, importer.SourceError) else f"{source}: {exc}")
        return
    progress.done()
    events.record(
        session,
        "critical:downloads-imported",
        None,
        period=result.period,
        source=source[:200],
        rows=result.rows,
        projects=result.projects,
        replaced=result.replaced,
    )
    click.echo(result.summary())


@command("compute-critical")
@click.option("--as-of", "as_of", help="The day to compute for (YYYY-MM-DD); default today.")
def compute_critical_command(as_of: str | None) -> None:
    """Designate the critical projects: the top percent by downloads in the window."""
    if as_of is None:
        day = clock.now().date()
    else:
        try:
            day = date.fromisoformat(as_of.strip())
        except ValueError:
            fail(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)")
            return
    result = service.compute(db.session(), day)
    click.echo(result.summary())


@command("list-critical")
def list_critical_command() -> None:
    """CSV project,downloads,rank,critical_since of every critical project."""
    csvexport.write(sys.stdout, service.CSV_HEADER, service.critical_projects(db.session()))


COMMANDS = [import_downloads_command, compute_critical_command, list_critical_command]
