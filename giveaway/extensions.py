"""Flask extensions, created once and bound in create_app."""

from __future__ import annotations

import logging

from flask import Flask, flash, g, redirect, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, login_url
from flask_wtf.csrf import CSRFProtect

log = logging.getLogger(__name__)

csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(
    key_func=get_remote_address,
    # Fail open: with the shared storage down (or hung) the portal keeps serving.
    swallow_errors=True,
    in_memory_fallback_enabled=False,
    default_limits=[],
)


def limiter_storage_options(config: dict) -> dict[str, object]:  # type: ignore[type-arg]
    """The storage options of the rate limits: bounded timeouts for a network storage.

    redis-py waits forever by default; a Redis that accepts connections but never
    answers would hold every rate-limited request (and soon every worker thread).
    RATELIMIT_STORAGE_TIMEOUT bounds connecting and each reply; after it the
    limit is skipped (fail open, logged). RATELIMIT_STORAGE_OPTIONS overrides.
    """
    options: dict[str, object] = {}
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if uri.split(":", 1)[0].startswith(("redis", "rediss", "valkey")):
        timeout = float(config["RATELIMIT_STORAGE_TIMEOUT"])
        options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    options.update(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    return options


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.config["RATELIMIT_STORAGE_OPTIONS"] = limiter_storage_options(app.config)
    limiter.init_app(app)

    @login_manager.unauthorized_handler
    def unauthorized():  # type: ignore[no-untyped-def]
        # The database being down is not the visitor being signed out: sending a
        # signed-in maintainer to the sign-in page would only confuse them.
        if g.get("database_unavailable"):
            from giveaway.errors import render_error

            return render_error(503, retry_after=30)
        # Otherwise what Flask-Login does by default: a message and the sign-in page.
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    @login_manager.user_loader
    def load_user(user_id: str):  # type: ignore[no-untyped-def]
        from sqlalchemy.exc import OperationalError

        from giveaway import db
        from giveaway.accounts.models import User

        try:
            ident, version = (int(part) for part in user_id.split(":"))
        except ValueError:
            return None
        try:
            user = db.session().get(User, ident)
        except OperationalError:
            # The database is down: treat the visitor as signed out so the
            # friendly 503 page can still render.
            log.warning("could not load the signed-in user: database unavailable")
            db.rollback()
            g.database_unavailable = True
            return None
        # A password change or a 2FA reset bumps the version: older sessions end.
        if user is None or user.session_version != version or not user.is_active:
            return None
        return user
