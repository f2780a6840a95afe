"""Commands: snapshot-adoption and remind-2fa (cron jobs)."""

from __future__ import annotations

import click

from giveaway import clock, db
from giveaway.admin import insight, mandate
from giveaway.claims.claim import setup_url
from giveaway.clitools import command, fail


@command("snapshot-adoption")
def snapshot_adoption_command() -> None:
    """Record today's 2FA adoption among critical maintainers (one row a day; idempotent)."""
    snapshot, new = insight.record_snapshot(db.session(), clock.now())
    click.echo(
        f"snapshot-adoption: {snapshot.day.isoformat()} "
        f"{'recorded' if new else 'updated'}: {snapshot.with_any} of "
        f"{snapshot.maintainers} critical maintainers have 2FA "
        f"({insight.percent(snapshot.with_any, snapshot.maintainers)}%; "
        f"{snapshot.with_key} with a security key, {snapshot.with_totp} with TOTP, "
        f"{snapshot.with_both} with both)."
    )


@command("remind-2fa")
def remind_2fa_command() -> None:
    """Email maintainers covered by the 2FA mandate who lack 2FA (once per interval)."""
    try:
        mandate.check_settings()
    except mandate.MandateSettingError as exc:
        fail(str(exc))
    summary = mandate.remind(db.session(), clock.now(), setup_url())
    click.echo(summary.line())


COMMANDS = [snapshot_adoption_command, remind_2fa_command]
