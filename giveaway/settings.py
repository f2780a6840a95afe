"""Settings: config/defaults.py, then GIVEAWAY_SETTINGS, then GIVEAWAY_* variables."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

log = logging.getLogger(__name__)

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
    derive_relying_party(app)
    # Flask-Limiter reads these names.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Flask-Limiter sets Retry-After on every answer of a limited route, to the end of
    # the limit's window, over any Retry-After of the answer's own (a busy database's
    # 5 s became 59 s). Its figure goes in a header of its own; Retry-After is set by
    # the answers that mean it (errors.render_error: 429, 503).
    app.config.setdefault("RATELIMIT_HEADER_RETRY_AFTER", "X-RateLimit-Retry-After")
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def check(app: Flask, area_checks: Iterable[Callable[[], None]] = ()) -> None:
    """Every start-up check of the settings, in one place; refuse what cannot work.

    `area_checks` are the areas' own (mail, the giveaway window, the mandate):
    each runs in the app context and raises ValueError with the reason.
    """
    warn_per_process_rate_limits(app)
    _check_secret_key(app)
    _check_database_url(app)
    _check_time_zone(app)
    _check_relying_party(app)
    with app.app_context():
        for area_check in area_checks:
            try:
                area_check()
            except ValueError as exc:
                raise SettingsError(f"Refusing to start: {exc}") from exc


def _check_secret_key(app: Flask) -> None:
    """Refuse the development key outside debug and testing."""
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


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """scheme://host[:port] of `url` as a browser writes its origin (default ports left out).

    Raises ValueError when `url` has no http(s) scheme or no host.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// address with a host name")
    port = parts.port  # raises ValueError for a port that is not a number
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def derive_relying_party(app: Flask) -> None:
    """WEBAUTHN_ORIGIN and WEBAUTHN_RP_ID from BASE_URL, unless set explicitly.

    The one place they are worked out: security keys answer for the origin the
    browser shows, so a portal served at BASE_URL must expect that origin (a
    fixed default port made every registration on another port fail). A BASE_URL
    that gives no origin is left for `check` to refuse with the reason.
    """
    try:
        derived = origin_of(str(app.config.get("BASE_URL") or ""))
    except ValueError:
        return
    if not app.config.get("WEBAUTHN_ORIGIN"):
        app.config["WEBAUTHN_ORIGIN"] = derived
    if not app.config.get("WEBAUTHN_RP_ID"):
        app.config["WEBAUTHN_RP_ID"] = urlsplit(app.config["WEBAUTHN_ORIGIN"]).hostname or ""


def _check_relying_party(app: Flask) -> None:
    """The origin is an origin, and the RP id is its host or a domain above it."""
    origin = str(app.config.get("WEBAUTHN_ORIGIN") or "")
    rp_id = str(app.config.get("WEBAUTHN_RP_ID") or "")
    if not origin:
        raise SettingsError(
            f"Refusing to start: BASE_URL {app.config.get('BASE_URL')!r} is not an http:// or "
            "https:// address with a host name, so the security keys' origin cannot be taken "
            "from it. Set BASE_URL (e.g. http://localhost:5000) or WEBAUTHN_ORIGIN."
        )
    try:
        exact = origin_of(origin)
    except ValueError as exc:
        raise SettingsError(
            f"Refusing to start: WEBAUTHN_ORIGIN {origin!r} is not an origin "
            "(scheme://host[:port], e.g. https://giveaway.index.example)."
        ) from exc
    if exact != origin.rstrip("/"):
        raise SettingsError(
            f"Refusing to start: WEBAUTHN_ORIGIN {origin!r} must be exactly what browsers show, "
            f"{exact!r} (no path, no default port)."
        )
    host = urlsplit(exact).hostname or ""
    if not rp_id or not (host == rp_id or host.endswith("." + rp_id)):
        raise SettingsError(
            f"Refusing to start: WEBAUTHN_RP_ID {rp_id!r} must be the host name of "
            f"WEBAUTHN_ORIGIN ({host!r}) or a domain it belongs to."
        )


def _check_database_url(app: Flask) -> None:
    try:
        make_url(app.config["DATABASE_URL"]).get_dialect()
    except (ArgumentError, NoSuchModuleError) as exc:
        raise SettingsError(
            f"Refusing to start: DATABASE_URL is not a database URL SQLAlchemy understands "
            f"({exc}). Examples: sqlite:////abs/path.db, "
            "postgresql+psycopg://user@host/dbname"
        ) from exc


def time_zone(name: object) -> ZoneInfo:
    """The zone GIVEAWAY_TIMEZONE names; ValueError saying what is wrong otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"GIVEAWAY_TIMEZONE must be an IANA time zone name such as 'Europe/Berlin' "
            f"or 'UTC', not {name!r}."
        )
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"GIVEAWAY_TIMEZONE {name!r} is not a time zone this system knows. Use an IANA "
            "name such as 'Europe/Berlin', 'America/New_York' or 'UTC' (a system without a "
            "zone database needs the tzdata package)."
        ) from exc


def _check_time_zone(app: Flask) -> None:
    try:
        time_zone(app.config.get("GIVEAWAY_TIMEZONE"))
    except ValueError as exc:
        raise SettingsError(f"Refusing to start: {exc}") from exc


def server_processes(argv: list[str] | None = None) -> int:
    """How many processes serve the portal: gunicorn's worker count, else 1.

    Read the way gunicorn reads it (the command line, GUNICORN_CMD_ARGS, the
    config file, WEB_CONCURRENCY), by gunicorn's own configuration code:
    each worker was started from the same command and environment.
    """
    argv = sys.argv if argv is None else argv
    # `gunicorn …` runs bin/gunicorn; `python -m gunicorn …` runs gunicorn/__main__.py.
    program = Path(argv[0]) if argv else Path()
    if "gunicorn" not in (program.name, program.parent.name):
        return 1
    try:
        from gunicorn.app.wsgiapp import WSGIApplication

        class _Settings(WSGIApplication):
            """Only the configuration: no change of directory, no app loaded."""

            def chdir(self) -> None:
                pass

            def load(self) -> NoReturn:
                raise RuntimeError("only gunicorn's settings are read here: no app is served")

        saved = sys.argv
        sys.argv = list(argv)
        try:
            return max(1, int(_Settings().cfg.workers))
        finally:
            sys.argv = saved
    except (Exception, SystemExit):  # noqa: BLE001 - an unreadable command says nothing
        log.warning("could not read gunicorn's worker count from %r", argv)
        return 1


def warn_per_process_rate_limits(app: Flask, argv: list[str] | None = None) -> None:
    """Warn loudly when each of several processes keeps its own rate-limit counts.

    With memory:// storage every worker process counts on its own, so "10 a
    minute" is really 10 a minute per process. Not a refusal: one machine
    without Redis is a supported set-up, and its operator may accept the
    looser limits; the warning says what they are and how to share them.
    """
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if not app.config.get("RATELIMIT_ENABLED", True) or not storage.startswith("memory:"):
        return
    processes = server_processes(argv)
    if processes <= 1:
        return
    login = app.config.get("RATELIMIT_LOGIN")
    log.error(
        "RATE LIMITS ARE %d TIMES LOOSER THAN SET: RATELIMIT_STORAGE_URI is %s, which each of "
        "the %d worker processes keeps on its own (RATELIMIT_LOGIN %r allows that many "
        "attempts in each process). Set GIVEAWAY_RATELIMIT_STORAGE_URI=redis://host:6379/0 "
        "to share one count between processes and hosts.",
        processes,
        storage,
        processes,
        login,
    )
