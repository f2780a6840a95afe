"""What operators see: metrics, structured logs, error reports, cron job figures.

`init_app` is one step of create_app, after every command is registered. The
domain modules do not import any of it: they send the small signals of
`giveaway.observability.signals`, and the audit trail's events are counted as
they are committed (`audit`).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from giveaway.observability import audit, errorreports, jobs, logs, metrics
    from giveaway.privacy.cli import forget_addresses_command
    from giveaway.settings import SettingsError

    days = app.config["EVENT_ADDRESS_RETENTION_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise SettingsError(
            "Refusing to start: EVENT_ADDRESS_RETENTION_DAYS must be a whole number of days "
            f"(1 or more), not {days!r}."
        )
    logs.init_app(app)
    metrics.init_app(app)
    errorreports.init_app(app)
    audit.install()
    # The retention job is a cron job like the others: registered here, then timed.
    app.cli.add_command(forget_addresses_command)
    jobs.instrument(app)
