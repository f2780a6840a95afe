"""Commands: load-codes, export-claims, expire-codes (registered through the giveaway blueprint)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from giveaway import clock, db
from giveaway.cli import fail


@click.command("load-codes")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--batch", "batch_name", required=True, help="A name for the batch (unique).")
@click.option(
    "--expires", required=True, help="The day the codes expire (YYYY-MM-DD, at 00:00 UTC)."
)
@click.option("--keys-per-code", default=2, show_default=True, type=int)
@click.option("--vendor", default="", help="Who issued the codes.")
@db.transactional
def load_codes_command(
    file: Path, batch_name: str, expires: str, keys_per_code: int, vendor: str
) -> None:
    """Add a batch of promo codes: one a line, or CSV with the code first. All or nothing."""
    from giveaway.claims import pool

    try:
        expires_at: datetime | None = pool.expiry_from_date(expires)
    except ValueError:
        fail(f"--expires {expires!r} is not a date like 2026-10-01: nothing loaded")
        return
    max_bytes = current_app.config["CODE_UPLOAD_MAX_BYTES"]
    try:
        if str(file) == "-":
            raw = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with open(file, "rb") as fh:
                raw = fh.read(max_bytes + 1)
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
        return
    details = pool.BatchDetails(batch_name, vendor, keys_per_code, expires_at)  # type: ignore[arg-type]
    session = db.session()
    now = clock.now()
    report = pool.validate(session, raw, details, now, max_bytes=max_bytes)
    if not report.ok:
        lines = "\n  ".join(str(p) for p in report.problems)
        more = f"\n  … and {report.unlisted} more" if report.unlisted else ""
        fail(f"{file}: {report.problem_count} problems, nothing loaded:\n  {lines}{more}")
    batch = pool.add_batch(session, report.codes, details, None, now)
    click.echo(
        f"Loaded {len(report.codes)} codes into batch {batch.name!r} "
        f"(expires {batch.expires_at:%Y-%m-%d %H:%M} UTC, {batch.keys_per_code} keys a code)."
    )


@click.command("export-claims")
@with_appcontext
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@db.transactional
def export_claims_command(output: Path | None) -> None:
    """CSV username,code,batch,claimed_at of every claimed code."""
    from giveaway.claims import export
    from giveaway.events import service as events

    session = db.session()
    if output is None:
        count = export.write(session, sys.stdout)  # type: ignore[arg-type]
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            count = export.write(session, fh)  # type: ignore[arg-type]
    events.record(session, "claim:claims_exported", None, claims=count, via="cli")
    click.echo(f"Exported {count} claims{f' to {output}' if output else ''}.", err=True)


@click.command("expire-codes")
@with_appcontext
def expire_codes_command() -> None:
    """The cron job: expire codes, send reminders, tell waiting maintainers. Idempotent."""
    from giveaway.claims import expiry

    session = db.session()
    try:
        summary = expiry.run(
            session, clock.now(), reminder_days=int(current_app.config["EXPIRY_REMINDER_DAYS"])
        )
        db.commit()
    except BaseException:
        session.rollback()
        raise
    click.echo(summary.line())


COMMANDS = [load_codes_command, export_claims_command, expire_codes_command]
