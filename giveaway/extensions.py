"""Flask extensions, created once and bound in create_app.

Objects only: the user loader belongs to accounts (`giveaway.accounts.loader`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from flask_babel import Babel, Domain, gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.utils import cached_property


class _AppDomain(Domain):
    """Flask-Babel's message domain, its loaded catalogs kept per app, not per process.

    One process may hold apps with catalogs of their own (the tests do); the
    stock cache would serve one app's German to the other.
    """

    def get_translations_cache(self, ctx: object) -> dict[object, object]:
        cache: dict[object, object] = current_app.extensions.setdefault("babel.catalogs", {})
        return cache


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return _AppDomain(domain=self.domain)


def N_(message: str) -> str:
    """Mark a message for the catalog; it is translated where it is shown."""
    return message


csrf = CSRFProtect()
# Bound by giveaway.i18n.init_app, which owns the choice of locale.
babel = _Babel()
login_manager = LoginManager()
limiter = Limiter(
    key_func=get_remote_address,
    # Fail open: with the shared storage down (or hung) the portal keeps serving.
    swallow_errors=True,
    in_memory_fallback_enabled=False,
    default_limits=[],
)


def limiter_storage_options(config: Mapping[str, Any]) -> dict[str, object]:
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
    login_manager.login_message = N_("Please sign in to see this page.")
    # Flashed in the language of the page that asked for a sign-in.
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.config["RATELIMIT_STORAGE_OPTIONS"] = limiter_storage_options(app.config)
    limiter.init_app(app)
