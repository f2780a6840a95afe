"""Settings: config/defaults.py, then GIVEAWAY_SETTINGS, then GIVEAWAY_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS_FILE = Path(__file__).resolve().parent.parent / "config" / "defaults.py"
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - the value refused below


class SettingsError(RuntimeError):
    """The settings do not allow the portal to start."""


def load(app: Flask, overrides: dict[str, Any] | None = None) -> None:
    app.config.from_pyfile(str(DEFAULTS_FILE))
    settings_file = os.environ.get("GIVEAWAY_SETTINGS")
    if settings_file:
        path = os.path.abspath(settings_file)
        if not os.path.isfile(path):
            raise SettingsError(
                f"GIVEAWAY_SETTINGS names {settings_file!r}, which is not a file ({path})."
            )
        app.config.from_pyfile(path)
    app.config.from_prefixed_env("GIVEAWAY")
    if overrides:
        app.config.update(overrides)
    # GIVEAWAY_* values are parsed as JSON: an all-digit key would become a number.
    if app.config.get("SECRET_KEY") is not None and not isinstance(
        app.config["SECRET_KEY"], str | bytes
    ):
        app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])
    if not app.config["DATABASE_URL"]:
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(
            app.instance_path, "giveaway.sqlite3"
        )
    if not app.config["MAIL_URL"]:
        app.config["MAIL_URL"] = "file://" + os.path.join(app.instance_path, "outbox")
    # Flask-Limiter reads these names.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def check(app: Flask) -> None:
    """Refuse settings that are unsafe in production."""
    if app.debug or app.testing:
        return
    secret_key = str(app.config.get("SECRET_KEY") or "")
    # The example production file's placeholder starts with "change-me".
    if secret_key in ("", DEFAULT_SECRET_KEY) or secret_key.startswith("change-me"):
        raise SettingsError(
            "Refusing to start: SECRET_KEY is the development default (or a placeholder). Set "
            "GIVEAWAY_SECRET_KEY (or SECRET_KEY in the file named by GIVEAWAY_SETTINGS) "
            "to a long random value, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'. "
            "Debug and testing modes allow the default."
        )
