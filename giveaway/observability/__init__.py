"""What operators see: metrics, structured logs, error reports, cron job figures.

`init_app` is one step of create_app, after every command is registered (the
cron jobs are timed). The domain modules do not import any of it: they send
the small signals of `giveaway.signals`, and the audit trail's
events are counted as they are committed (`audit`). `check_settings` is one of
the start-up checks that settings.check runs.
"""

from __future__ import annotations

from flask import Flask, current_app

from giveaway.observability import audit, errorreports, jobs, logs, metrics


def check_settings() -> None:
    """The operators' settings (logs, metrics, error reports, retention); ValueError says why."""
    config = current_app.config
    days = config["EVENT_ADDRESS_RETENTION_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(
            "EVENT_ADDRESS_RETENTION_DAYS must be a whole number of days "
            f"(1 or more), not {days!r}."
        )
    logs.check_settings(config)
    metrics.check_settings(config)
    errorreports.check_settings(config)


def init_app(app: Flask) -> None:
    logs.init_app(app)
    metrics.init_app(app)
    errorreports.init_app(app)
    audit.install()
    jobs.instrument(app)
