"""`giveaway forget-addresses`: the retention job for client addresses in events."""

from __future__ import annotations

import click
from flask import current_app

from giveaway import clock, db
from giveaway.clitools import command
from giveaway.privacy import service


@command("forget-addresses")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Keep addresses this many days (default: EVENT_ADDRESS_RETENTION_DAYS).",
)
def forget_addresses_command(days: int | None) -> None:
    """Remove the client address from events older than the retention period (cron)."""
    keep = days if days is not None else int(current_app.config["EVENT_ADDRESS_RETENTION_DAYS"])
    changed = service.forget_addresses(db.session(), clock.now(), keep)
    click.echo(f"forget-addresses: {changed} events older than {keep} days lost their address.")


COMMANDS = [forget_addresses_command]
