"""Prometheus metrics at /metrics, for one process or for every gunicorn worker.

Counters and histograms live in this process (or, under gunicorn, in the files
of PROMETHEUS_MULTIPROC_DIR that every worker writes and the scrape adds up).
Gauges that describe the shared state (codes left, the outbox, the cron jobs)
are read from the database at scrape time by `DatabaseCollector`, one query
each, so every host reports the same figures.

/metrics answers only a request carrying the METRICS_TOKEN as a bearer token,
or one coming from a network in METRICS_NETWORKS; otherwise 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any, cast

from flask import Blueprint, Flask, Response, abort, current_app, g, request, request_finished
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from giveaway import clock, db, mail, signals
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.mail.models import OutboxMessage
from giveaway.observability.models import JobRun

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# A "_created" twin of every counter doubles the scrape for nothing an alert uses.
disable_created_metrics()

# The process's own metrics. Under gunicorn each worker writes them to files in
# PROMETHEUS_MULTIPROC_DIR (the library does it when the variable is set before
# this import); the scrape reads them all through MultiProcessCollector.
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "giveaway_http_requests",
    "HTTP requests answered, by endpoint and status.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "giveaway_http_request_duration_seconds",
    "Time from the request arriving to the response being ready, by endpoint and status.",
    ["endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
CLAIMS = Counter(
    "giveaway_claims",
    "Claim requests by outcome (claimed, already, refused, pool_empty) and refusal reason.",
    ["outcome", "reason"],
    registry=REGISTRY,
)
SIGNINS = Counter(
    "giveaway_signins",
    "Sign-in steps by step (password, totp, webauthn, recovery_code) and outcome.",
    ["step", "outcome"],
    registry=REGISTRY,
)
SECURITY_EVENTS = Counter(
    "giveaway_security_events",
    "Security events recorded (2FA added or removed, password changes, ...), by kind.",
    ["kind"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "giveaway_rate_limited",
    "Requests refused by a rate limit (answered 429), by endpoint.",
    ["endpoint"],
    registry=REGISTRY,
)

# How far ahead "expiring soon" looks for the codes-left gauge.
EXPIRING_WITHIN = timedelta(days=7)


# --- counting --------------------------------------------------------------------


def _on_claim(sender: Any, outcome: str, reason: str = "", **extra: Any) -> None:
    CLAIMS.labels("pool_empty" if outcome == "empty" else outcome, reason).inc()


def count_event(kind: str, detail: dict[str, Any]) -> None:
    """Called for each event committed (see giveaway.observability.events)."""
    method = str(detail.get("method") or "password")
    if kind == "login:success":
        SIGNINS.labels(method, "success").inc()
    elif kind == "login:failure":
        SIGNINS.labels("password", "failure").inc()
    elif kind == "login:2fa_failure":
        SIGNINS.labels(method, "failure").inc()
    elif kind.startswith(("2fa:", "password:", "account:")):
        SECURITY_EVENTS.labels(kind).inc()


def _endpoint() -> str:
    # The endpoint, never the path: paths carry tokens and would make a label per URL.
    rule = request.url_rule
    return rule.endpoint if rule is not None else "none"


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(sender: Flask, response: Response, **extra: Any) -> None:
    # request_finished: after every after_request function, so the status is
    # the one sent (a failed commit turns a 200 into a 503) and the commit is timed.
    started = g.pop("metrics_started", None)
    endpoint = _endpoint()
    status = str(response.status_code)
    REQUESTS.labels(endpoint, request.method, status).inc()
    if started is not None:
        LATENCY.labels(endpoint, status).observe(time.perf_counter() - started)
    if response.status_code == 429:
        RATE_LIMITED.labels(endpoint).inc()


# --- the database's figures, read at scrape time --------------------------------------


class DatabaseCollector(Collector):
    """Codes left, the outbox and the cron jobs, as gauges read from the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = clock.now()
        yield from self._codes(now)
        yield from self._outbox(now)
        yield from self._jobs(now)

    def _codes(self, now: Any) -> Iterable[GaugeMetricFamily]:
        # The lifecycle's own states: available now, and past expiry a week on.
        available = PromoCode.is_available(now)
        soon = and_(available, PromoCode.is_past_expiry(now + EXPIRING_WITHIN))
        rows = self.session.execute(
            select(
                PromoBatch.name,
                func.coalesce(func.sum(case((available, 1), else_=0)), 0),
                func.coalesce(func.sum(case((soon, 1), else_=0)), 0),
            )
            .join(PromoCode, PromoCode.batch_id == PromoBatch.id, isouter=True)
            .group_by(PromoBatch.id, PromoBatch.name)
        ).all()
        left = GaugeMetricFamily(
            "giveaway_codes_available",
            "Codes that can still be claimed, by batch.",
            labels=["batch"],
        )
        expiring = GaugeMetricFamily(
            "giveaway_codes_expiring_soon",
            "Codes that can still be claimed but expire within 7 days, by batch.",
            labels=["batch"],
        )
        for name, free, expiring_soon in rows:
            left.add_metric([name], int(free))
            expiring.add_metric([name], int(expiring_soon))
        return (left, expiring)

    def _outbox(self, now: Any) -> Iterable[GaugeMetricFamily]:
        waiting = mail.waiting()
        count_waiting, oldest, retrying, given_up = self.session.execute(
            select(
                func.coalesce(func.sum(case((waiting, 1), else_=0)), 0),
                func.min(case((waiting, OutboxMessage.created_at), else_=None)),
                func.coalesce(
                    func.sum(case((and_(waiting, OutboxMessage.attempts > 0), 1), else_=0)), 0
                ),
                func.coalesce(
                    func.sum(case((OutboxMessage.failed_at.is_not(None), 1), else_=0)), 0
                ),
            )
        ).one()
        if oldest is not None and oldest.tzinfo is None:
            from datetime import UTC

            oldest = oldest.replace(tzinfo=UTC)
        yield GaugeMetricFamily(
            "giveaway_outbox_waiting",
            "Messages not sent yet (and not given up).",
            int(count_waiting),
        )
        yield GaugeMetricFamily(
            "giveaway_outbox_oldest_waiting_seconds",
            "Age of the oldest message still waiting to be sent (0 when none waits).",
            max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
        )
        yield GaugeMetricFamily(
            "giveaway_outbox_retrying",
            "Waiting messages whose sending failed at least once.",
            int(retrying),
        )
        yield GaugeMetricFamily(
            "giveaway_outbox_failed",
            "Messages given up after every retry failed.",
            int(given_up),
        )

    def _jobs(self, now: Any) -> Iterable[GaugeMetricFamily]:
        # Labelled "command", not "job": Prometheus gives every target a "job" label.

        success = GaugeMetricFamily(
            "giveaway_job_last_success_timestamp_seconds",
            "When each cron job last finished without an error (Unix time).",
            labels=["command"],
        )
        duration = GaugeMetricFamily(
            "giveaway_job_last_duration_seconds",
            "How long each cron job's last successful run took.",
            labels=["command"],
        )
        for run in self.session.scalars(select(JobRun).order_by(JobRun.name)):
            success.add_metric([run.name], run.last_success_at.timestamp())
            duration.add_metric([run.name], run.last_duration_seconds)
        return (success, duration)


# --- /metrics ---------------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").encode() if header.startswith("Bearer ") else b""
    if token and given and hmac.compare_digest(given, str(token).encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.extensions["metrics.networks"])


@bp.get("/metrics")
def scrape() -> Response:
    if not _allowed():
        abort(403)

    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    with db.separate_session() as session:
        registry.register(DatabaseCollector(session))
        body = generate_latest(registry)
    response = Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0])
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


class _ThisProcess(Collector):
    """This process's counters (outside gunicorn's multi-process mode)."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def parse_networks(value: object) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_NETWORKS as networks: a list, or one string separated by commas."""
    # Anything else than a string is taken as a list (not iterable: TypeError).
    items = (
        value.split(",") if isinstance(value, str) else list(cast(Iterable[object], value or []))
    )
    networks = []
    for item in items:
        text = str(item).strip()
        if text:
            networks.append(ipaddress.ip_network(text, strict=False))
    return networks


def check_settings(config: Any) -> None:
    try:
        parse_networks(config["METRICS_NETWORKS"])
    except ValueError as exc:
        raise ValueError(
            f"METRICS_NETWORKS holds something that is not a network "
            f"or address ({exc}). Example: ['10.0.0.0/8', '127.0.0.1']"
        ) from exc


def init_app(app: Flask) -> None:
    app.extensions["metrics.networks"] = parse_networks(app.config["METRICS_NETWORKS"])
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    request_finished.connect(_observe, app, weak=False)
    app.register_blueprint(bp)
    signals.claim_decided.connect(_on_claim, weak=False)
