"""Commands: snapshot-adoption and remind-2fa (cron jobs, registered through the admin blueprint)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from giveaway import clock, db
from giveaway.cli import fail


@click.command("snapshot-adoption")
@with_appcontext
def snapshot_adoption_command() -> None:
    """Record today's 2FA adoption among critical maintainers (one row a day; idempotent)."""
    from giveaway.admin import insight

    session = db.session()
    try:
        snapshot, new = insight.record_snapshot(session, clock.now())
        line = (
            f"snapshot-adoption: {snapshot.day.isoformat()} "
            f"{'recorded' if new else 'updated'}: {snapshot.with_any} of "
            f"{snapshot.maintainers} critical maintainers have 2FA "
            f"({insight.percent(snapshot.with_any, snapshot.maintainers)}%; "
            f"{snapshot.with_key} with a security key, {snapshot.with_totp} with TOTP, "
            f"{snapshot.with_both} with both)."
        )
        db.commit()
    except BaseException:
        session.rollback()
        raise
    click.echo(line)


@click.command("remind-2fa")
@with_appcontext
def remind_2fa_command() -> None:
    """Email maintainers covered by the 2FA mandate who lack 2FA (once per interval)."""
    from giveaway.admin import mandate
    from giveaway.claims.claim import setup_url

    try:
        mandate.check_settings()
    except mandate.MandateSettingError as exc:
        fail(str(exc))
    session = db.session()
    try:
        summary = mandate.remind(session, clock.now(), setup_url())
        db.commit()
    except BaseException:
        session.rollback()
        raise
    click.echo(summary.line())


COMMANDS = [snapshot_adoption_command, remind_2fa_command]
