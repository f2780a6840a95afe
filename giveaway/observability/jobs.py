"""Each cron job's last success and duration, kept in the database (job_runs).

Cron runs the jobs as separate processes on every host, so their figures
cannot live in a web process's memory: each run of a listed command updates
its row at the end, and the metrics read the rows at scrape time. A run that
failed writes nothing to the database (a command refusing bad input must
change nothing): it logs the failure, and the job shows as late.
"""

from __future__ import annotations

import functools
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from giveaway import clock, db
from giveaway.observability.models import JobRun

log = logging.getLogger(__name__)

# The commands config/crontab.example runs (and forget-addresses, the retention job).
CRON_JOBS = (
    "expire-codes",
    "send-mail",
    "snapshot-adoption",
    "remind-2fa",
    "import-downloads",
    "compute-critical",
    "forget-addresses",
)

# The callbacks already timed: the commands are shared by every app, and
# instrument() runs once per app.
_TIMED: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def record(name: str, seconds: float) -> None:
    """Note a successful run, in a transaction of its own (after the job's own commit)."""

    now = clock.now()
    with db.separate_session() as session:
        run = session.scalar(select(JobRun).where(JobRun.name == name).with_for_update())
        if run is None:
            session.add(
                JobRun(name=name, last_success_at=now, last_duration_seconds=seconds, successes=1)
            )
        else:
            run.last_success_at = now
            run.last_duration_seconds = seconds
            run.successes = (run.successes or 0) + 1


def timed(name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = callback(*args, **kwargs)
        except SystemExit as exc:
            _finished(name, time.perf_counter() - started, ok=not exc.code)
            raise
        except BaseException:
            _finished(name, time.perf_counter() - started, ok=False)
            raise
        _finished(name, time.perf_counter() - started, ok=True)
        return result

    _TIMED.add(run)
    return run


def _finished(name: str, seconds: float, *, ok: bool) -> None:
    fields = {"job": name, "ok": ok, "duration_s": round(seconds, 3)}
    if not ok:
        log.warning("job failed", extra=fields)
        return
    try:
        record(name, seconds)
    except Exception:  # noqa: BLE001 - the job's own outcome matters more than its figures
        log.warning("could not record the run of %s", name, exc_info=True)
    log.info("job finished", extra=fields)


def instrument(app: Flask) -> None:
    """Wrap the cron commands' callbacks (after every command is registered)."""

    for name in CRON_JOBS:
        command = app.cli.commands.get(name)
        if command is None or command.callback is None:
            continue
        if command.callback in _TIMED:
            continue
        # Outside any app context the inner callback pushes its own; ours needs one too.
        wrapped = with_appcontext(timed(name, command.callback))
        _TIMED.add(wrapped)
        command.callback = wrapped
