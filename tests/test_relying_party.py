"""The WebAuthn origin and RP id follow BASE_URL unless set, and are checked at start-up."""

from __future__ import annotations

import os

import pytest

from giveaway import create_app
from giveaway.settings import SettingsError
from giveaway.twofactor import webauthn


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):  # type: ignore[no-untyped-def]
    for name in list(os.environ):
        if name.startswith("GIVEAWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def minimal(tmp_path):  # type: ignore[no-untyped-def]
    return {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MAIL_URL": f"file://{tmp_path / 'outbox'}",
    }


def test_base_url_on_another_port_gives_that_origin(minimal, monkeypatch):
    # What `make run PORT=5101` sets.
    monkeypatch.setenv("GIVEAWAY_BASE_URL", "http://localhost:5101")
    app = create_app(minimal)
    assert app.config["WEBAUTHN_ORIGIN"] == "http://localhost:5101"
    assert app.config["WEBAUTHN_RP_ID"] == "localhost"
    with app.app_context():
        assert webauthn.origin() == "http://localhost:5101"
        assert webauthn.rp_id() == "localhost"


def test_the_default_base_url_gives_the_default_origin(minimal):
    app = create_app(minimal)
    assert app.config["WEBAUTHN_ORIGIN"] == "http://localhost:5000"


@pytest.mark.parametrize(
    ("base_url", "origin", "rp_id"),
    [
        (
            "https://giveaway.index.example/",
            "https://giveaway.index.example",
            "giveaway.index.example",
        ),
        (
            "https://giveaway.index.example:443/portal",
            "https://giveaway.index.example",
            "giveaway.index.example",
        ),
        ("http://Example.ORG:8080", "http://example.org:8080", "example.org"),
    ],
)
def test_origin_is_what_browsers_show(minimal, base_url, origin, rp_id):
    app = create_app(minimal | {"BASE_URL": base_url})
    assert (app.config["WEBAUTHN_ORIGIN"], app.config["WEBAUTHN_RP_ID"]) == (origin, rp_id)


def test_explicit_settings_win_over_base_url(minimal, monkeypatch):
    monkeypatch.setenv("GIVEAWAY_BASE_URL", "http://localhost:5101")
    monkeypatch.setenv("GIVEAWAY_WEBAUTHN_ORIGIN", "https://keys.index.example")
    monkeypatch.setenv("GIVEAWAY_WEBAUTHN_RP_ID", "index.example")
    app = create_app(minimal)
    assert app.config["WEBAUTHN_ORIGIN"] == "https://keys.index.example"
    assert app.config["WEBAUTHN_RP_ID"] == "index.example"


def test_explicit_origin_alone_gives_its_host_as_rp_id(minimal):
    app = create_app(minimal | {"WEBAUTHN_ORIGIN": "https://keys.index.example"})
    assert app.config["WEBAUTHN_RP_ID"] == "keys.index.example"


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"BASE_URL": "localhost:5101"}, "BASE_URL 'localhost:5101' is not an http://"),
        (
            {"WEBAUTHN_ORIGIN": "localhost:5101"},
            "WEBAUTHN_ORIGIN 'localhost:5101' is not an origin",
        ),
        ({"WEBAUTHN_ORIGIN": "https://a.example/path"}, "must be exactly what browsers show"),
        (
            {"WEBAUTHN_ORIGIN": "https://a.example", "WEBAUTHN_RP_ID": "b.example"},
            "RP_ID 'b.example'",
        ),
        ({"WEBAUTHN_ORIGIN": "https://a.example", "WEBAUTHN_RP_ID": "xa.example"}, "RP_ID"),
        ({"BASE_URL": "http://localhost:notaport"}, "BASE_URL"),
    ],
)
def test_settings_that_cannot_work_are_refused_at_start_up(minimal, settings, reason):
    with pytest.raises(SettingsError, match="Refusing to start") as refused:
        create_app(minimal | settings)
    assert reason in str(refused.value)


def test_a_parent_domain_is_a_valid_rp_id(minimal):
    app = create_app(
        minimal | {"WEBAUTHN_ORIGIN": "https://a.example", "WEBAUTHN_RP_ID": "example"}
    )
    assert app.config["WEBAUTHN_RP_ID"] == "example"
