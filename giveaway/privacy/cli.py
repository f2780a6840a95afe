"""`giveaway forget-addresses`: the retention job for client addresses in events."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from giveaway import clock, db


@click.command("forget-addresses")
@with_appcontext
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep addresses this many days (default: EVENT_ADDRESS_RETENTION_DAYS).",
)
@db.transactional
def forget_addresses_command(days: int | None) -> None:
    """Remove the client address from events older than the retention period (cron)."""
    from giveaway.privacy import service

    keep = days if days is not None else int(current_app.config["EVENT_ADDRESS_RETENTION_DAYS"])
    changed = service.forget_addresses(db.session(), clock.now(), keep)
    click.echo(f"forget-addresses: {changed} events older than {keep} days lost their address.")
