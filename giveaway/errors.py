"""Friendly error pages (HTML) for every 4xx and 5xx."""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException

from giveaway import db
from giveaway.extensions import limiter, login_manager

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Not allowed", "You do not have permission to see this page."),
    404: (
        "Page not found",
        "There is no page at this address. Check the link, or start from the home page.",
    ),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    429: (
        "Too many attempts",
        "You have tried this too often in a short time. Please wait a little and try again.",
    ),
    500: (
        "Something went wrong",
        "An error on our side stopped this page. It has been logged; please try again in a moment.",
    ),
    503: (
        "Temporarily unavailable",
        "The portal cannot reach its database right now. Please try again in a minute.",
    ),
}


def render_error(
    code: int, description: str | None = None, retry_after: int | None = None
) -> ResponseReturnValue:
    title, default_text = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    response = render_template(
        "errors/error.html", code=code, title=title, message=description or default_text
    )
    headers = {}
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return response, code, headers


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        return render_error(
            400,
            "This form has expired or did not come from this site. Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        retry_after = None
        if error.code == 429:
            retry_after = _retry_after(error)
        description = None
        if (
            error.code not in (404, 405, 500, 503)
            and error.description
            and getattr(error, "friendly", False)
        ):
            description = error.description
        return render_error(error.code, description, retry_after)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(error: Exception) -> ResponseReturnValue:
        return database_error_response(error)

    @app.errorhandler(SQLAlchemyTimeoutError)
    def pool_exhausted(error: Exception) -> ResponseReturnValue:
        # Every pooled connection stayed busy for DATABASE_POOL_TIMEOUT: load.
        log.error("no free database connection on %s %s", request.method, request.path)
        _forget_failed_work()
        return render_error(503, BUSY, retry_after=5)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)


BUSY = (
    "The portal is very busy right now and could not finish this in time. Nothing was "
    "changed; please try again in a few seconds."
)


def database_error_response(error: Exception) -> ResponseReturnValue:
    """The friendly page for a database error: 503 when it is unreachable or busy, else 500."""
    reason = _database_trouble(error)
    log.error(
        "database error on %s %s: %s (%s)",
        request.method,
        request.path,
        error.__class__.__name__,
        reason,
    )
    _forget_failed_work()
    if reason == "busy":
        # A lock or pool wait that ran out is load, not an unreachable database.
        return render_error(503, BUSY, retry_after=5)
    if getattr(error, "connection_invalidated", False) or isinstance(error, OperationalError):
        return render_error(503, retry_after=30)
    return render_error(500)


def _database_trouble(error: Exception) -> str:
    """ "busy", "refused" or "unreachable": what went wrong, for the page and the log."""
    text = str(getattr(error, "orig", None) or error).lower()
    if "database is locked" in text or "database table is locked" in text:
        return "busy"
    if "lock timeout" in text or "canceling statement due to lock timeout" in text:
        return "busy"
    if "too many clients" in text or "remaining connection slots are reserved" in text:
        return (
            "refused: the server is out of connections; size DATABASE_POOL_SIZE and "
            "DATABASE_MAX_OVERFLOW so that hosts x workers x (pool + overflow) stays "
            "below its max_connections"
        )
    return "unreachable"


def _forget_failed_work() -> None:
    """Before the error page: drop the failed transaction and the signed-in user.

    The page must render without the database: a session left in a failed
    transaction (or an expired user object) would query it again from the
    template and turn the friendly page into a bare 500. The visitor is shown
    the page as if signed out; their session cookie is untouched.
    """
    try:
        db.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
        log.warning("could not roll back after a database error", exc_info=True)
    g._login_user = login_manager.anonymous_user()


def _retry_after(error: HTTPException) -> int:
    """Seconds until the breached rate limit lets requests through again."""
    try:
        current = limiter.current_limit
    except Exception:  # noqa: BLE001 - the storage may be down; a guess will do
        current = None
    if current is not None:
        return max(1, math.ceil(current.reset_at - time.time()))
    value = error.get_response().headers.get("Retry-After")
    try:
        return max(1, int(value)) if value else 60
    except ValueError:
        return 60
