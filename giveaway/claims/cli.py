"""Commands: load-codes, export-claims, expire-codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app

from giveaway import clock, db
from giveaway.claims import deadline, expiry, export, pool
from giveaway.clitools import command, fail
from giveaway.events import service as events


@command("load-codes")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option("--batch", "batch_name", required=True, help="A name for the batch (unique).")
@click.option(
    "--expires",
    required=True,
    help="The last day the codes can be used (YYYY-MM-DD): they work until the end of "
    "that day in the giveaway's time zone (GIVEAWAY_TIMEZONE).",
)
@click.option("--keys-per-code", default=2, show_default=True, type=int)
@click.option("--vendor", default="", help="Who issued the codes.")
@click.option(
    "--store-url",
    default="",
    help="The vendor's store where the codes are redeemed (https://…); shown with each code.",
)
def load_codes_command(
    file: Path, batch_name: str, expires: str, keys_per_code: int, vendor: str, store_url: str
) -> None:
    """Add a batch of promo codes: one a line, or CSV with the code first. Blank lines are
    skipped. All or nothing."""
    try:
        expires_at = pool.expiry_from_date(expires)
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
    details = pool.BatchDetails(
        batch_name, vendor, keys_per_code, expires_at, pool.clean_store_url(store_url)
    )
    session = db.session()
    now = clock.now()
    report = pool.validate(session, raw, details, now, max_bytes=max_bytes)
    if not report.ok:
        lines = "\n  ".join(str(p) for p in report.problems)
        more = f"\n  … and {report.unlisted} more" if report.unlisted else ""
        fail(f"{file}: {report.problem_count} problems, nothing loaded:\n  {lines}{more}")
    batch = pool.add_batch(session, report.codes, details, None, now)
    blanks = report.blank_lines
    skipped = f" {blanks} blank line{'' if blanks == 1 else 's'} skipped." if blanks else ""
    store = f", redeemed at {batch.store_url}" if batch.store_url else ", no store address"
    click.echo(
        f"Loaded {len(report.codes)} codes into batch {batch.name!r} "
        f"(usable until {deadline.describe(batch.expires_at)}, "
        f"{batch.keys_per_code} keys a code{store}).{skipped}"
    )


@command("export-claims")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
def export_claims_command(output: Path | None) -> None:
    """CSV username,code,batch,claimed_at of every claimed code."""
    session = db.session()
    if output is None:
        count = export.write(session, sys.stdout)
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            count = export.write(session, fh)
    events.record(session, "claim:claims_exported", None, claims=count, via="cli")
    click.echo(f"Exported {count} claims{f' to {output}' if output else ''}.", err=True)


@command("expire-codes")
def expire_codes_command() -> None:
    """The cron job: expire codes, send reminders, tell waiting maintainers. Idempotent."""
    summary = expiry.run(
        db.session(), clock.now(), reminder_days=int(current_app.config["EXPIRY_REMINDER_DAYS"])
    )
    click.echo(summary.line())


COMMANDS = [load_codes_command, export_claims_command, expire_codes_command]
