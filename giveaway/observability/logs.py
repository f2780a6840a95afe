"""Logs: one JSON object a line in production, the plain format for development.

Every request gets an id: the proxy's X-Request-ID when it sent a sane one,
otherwise a new random one. It is added to every log line written during that
request and returned in the X-Request-ID response header, so an operator can
go from a visitor's complaint (or a proxy log line) to every line of that
request. Each request ends with one "request" line: endpoint (never the path,
which can carry an emailed link's token), method, status, duration.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any, TextIO

from flask import Flask, Response, g, has_request_context, request, request_finished
from flask_login import current_user
from pythonjsonlogger.json import JsonFormatter

from giveaway import signals
from giveaway.security import RedactTokens

log = logging.getLogger("giveaway.requests")
claims_log = logging.getLogger("giveaway.claims.outcome")

HEADER = "X-Request-ID"
# What is accepted from a proxy: short, and nothing that could forge a log line.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestContext(logging.Filter):
    """Adds request_id (and user_id when signed in) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            if not hasattr(record, "user_id"):
                user_id = _user_id()
                if user_id is not None:
                    record.user_id = user_id
        else:
            record.request_id = "-"
        return True


def _user_id() -> int | None:
    # Only when Flask-Login already loaded the user: a log line must not query.
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        return getattr(user, "id", None)
    return None


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        # ISO 8601 in UTC, under "time".
        timestamp="time",
    )


class PortalHandler(logging.StreamHandler[TextIO]):
    """The handler the portal installs on the root logger (one per process)."""


def install_handler(fmt: str, level: str) -> PortalHandler:
    """Put one handler with the chosen format on the root logger (replacing ours)."""

    root = logging.getLogger()
    # Ours from an earlier app, and logging.basicConfig's plain stream handler
    # (giveaway.configure_logging): one line per record, in one format.
    for old in [h for h in root.handlers if type(h) in (PortalHandler, logging.StreamHandler)]:
        root.removeHandler(old)
    handler = PortalHandler(sys.stderr)
    handler.addFilter(RequestContext())
    # The development server's request lines carry paths: no emailed token in them.
    handler.addFilter(RedactTokens())
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(PLAIN_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def _assign_id() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
    g.log_started = time.perf_counter()


def _return_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[HEADER] = g.request_id
    return response


def _log_request(sender: Flask, response: Response, **extra: Any) -> None:
    started = g.pop("log_started", None)
    rule = request.url_rule
    log.info(
        "request",
        extra={
            "endpoint": rule.endpoint if rule is not None else None,
            "rule": rule.rule if rule is not None else None,
            "method": request.method,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        },
    )


def _log_claim(sender: Any, outcome: str, reason: str = "", **extra: Any) -> None:
    # The outcome and the batch: never the code, never the region answer.
    fields: dict[str, Any] = {"outcome": outcome}
    if reason:
        fields["reason"] = reason
    if extra.get("batch_id") is not None:
        fields["batch_id"] = extra["batch_id"]
    if current_user and getattr(current_user, "is_authenticated", False):
        fields["user_id"] = current_user.id
    claims_log.info("claim", extra=fields)


def check_settings(config: Any) -> None:
    fmt = str(config["LOG_FORMAT"]).lower()
    if fmt not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT must be 'plain' or 'json', not {fmt!r}.")
    level = str(config["LOG_LEVEL"]).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}.")


def init_app(app: Flask) -> None:
    fmt = str(app.config["LOG_FORMAT"]).lower()
    level = str(app.config["LOG_LEVEL"]).upper()
    # JSON is asked for explicitly (production); the plain format is installed
    # outside debug and testing, where the tests and `flask run` keep their own.
    if fmt == "json" or not (app.debug or app.testing):
        app.extensions["logs.handler"] = install_handler(fmt, level)
    # First of all: a request refused by an earlier hook still gets its id.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_id)
    app.after_request(_return_id)
    request_finished.connect(_log_request, app, weak=False)
    signals.claim_decided.connect(_log_claim, weak=False)
