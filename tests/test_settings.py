"""Settings: defaults, then the GIVEAWAY_SETTINGS file, then GIVEAWAY_* variables."""

from __future__ import annotations

import os

import pytest

from giveaway import create_app
from giveaway.settings import DEFAULT_SECRET_KEY, SettingsError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):  # type: ignore[no-untyped-def]
    for name in list(os.environ):
        if name.startswith("GIVEAWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def minimal(tmp_path):  # type: ignore[no-untyped-def]
    """Just enough to keep the app out of the project's instance folder."""
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MAIL_URL": f"file://{tmp_path / 'outbox'}",
    }


def test_defaults_come_from_config(minimal):
    app = create_app(minimal | {"TESTING": True})
    assert app.config["PASSWORD_MIN_LENGTH"] == 10
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_file_then_environment(tmp_path, monkeypatch, minimal):
    settings = tmp_path / "settings.py"
    settings.write_text(
        'SITE_NAME = "From the file"\n'
        'MAIL_FROM = "file@example.org"\n'
        "PASSWORD_MIN_LENGTH = 14\n"
        'SECRET_KEY = "a-real-secret-from-the-file-0123456789"\n'
    )
    monkeypatch.setenv("GIVEAWAY_SETTINGS", str(settings))
    monkeypatch.setenv("GIVEAWAY_SITE_NAME", "From the environment")
    monkeypatch.setenv("GIVEAWAY_PASSWORD_MIN_LENGTH", "12")  # parsed as JSON
    app = create_app(minimal)
    assert app.config["SITE_NAME"] == "From the environment"
    assert app.config["MAIL_FROM"] == "file@example.org"
    assert app.config["PASSWORD_MIN_LENGTH"] == 12
    assert app.config["SECRET_KEY"] == "a-real-secret-from-the-file-0123456789"
    assert app.config["INDEX_NAME"] == "PyPI"  # untouched default


def test_environment_names_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("GIVEAWAY_DEBUG", "1")
    monkeypatch.setenv("GIVEAWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("GIVEAWAY_MAIL_URL", "console:")
    app = create_app()
    assert str(app.extensions["db.engine"].url).endswith("env.sqlite3")


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    app = create_app({"TESTING": True, "MAIL_URL": "console:"})
    assert app.config["DATABASE_URL"] == "sqlite:///" + os.path.join(
        app.instance_path, "giveaway.sqlite3"
    )
    app.extensions["db.engine"].dispose()


def test_missing_settings_file_is_refused(monkeypatch, minimal, tmp_path):
    monkeypatch.setenv("GIVEAWAY_SETTINGS", str(tmp_path / "nope.py"))
    with pytest.raises(SettingsError, match="not a file"):
        create_app(minimal | {"TESTING": True})


@pytest.mark.parametrize("key", [DEFAULT_SECRET_KEY, "", "change-me: python -c ..."])
def test_default_secret_key_is_refused_outside_debug_and_testing(minimal, key):
    with pytest.raises(SettingsError) as caught:
        create_app(minimal | {"SECRET_KEY": key})
    message = str(caught.value)
    assert "SECRET_KEY" in message
    assert "GIVEAWAY_SECRET_KEY" in message  # says how to fix it


@pytest.mark.parametrize("mode", ["TESTING", "DEBUG"])
def test_default_secret_key_is_allowed_in_debug_and_testing(minimal, mode):
    app = create_app(minimal | {mode: True})
    assert app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY


def test_debug_from_the_environment_allows_the_default_key(minimal, monkeypatch):
    monkeypatch.setenv("GIVEAWAY_DEBUG", "1")
    assert create_app(minimal).debug


def test_real_secret_key_starts(minimal):
    app = create_app(minimal | {"SECRET_KEY": "x" * 40})
    assert not app.debug and not app.testing


def test_numeric_secret_key_from_the_environment_stays_a_string(minimal, monkeypatch):
    monkeypatch.setenv("GIVEAWAY_SECRET_KEY", "12345678901234567890123")
    app = create_app(minimal)
    assert app.config["SECRET_KEY"] == "12345678901234567890123"


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("MAIL_URL", "carrier-pigeon://coop", "MAIL_URL"),
        ("MAIL_URL", "smtp://h?tls=maybe", "tls="),
        ("MAIL_URL", "smtp://h?cafile=/nonexistent/ca.pem", "cafile"),
        ("DATABASE_URL", "not a url", "DATABASE_URL"),
        ("DATABASE_URL", "nosuchdb://x/y", "DATABASE_URL"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(minimal, setting, value, reason):
    with pytest.raises(SettingsError, match=reason):
        create_app(minimal | {"TESTING": True, setting: value})
