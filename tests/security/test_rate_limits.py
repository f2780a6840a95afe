"""Rate limits per account as well as per address, and counts shared between processes.

Once, the password step was limited per address only: ten forwarded addresses
pushed 54 wrong passwords at one account in a minute. And with the default
per-process storage under 4 gunicorn workers, "10 a minute" was really 40,
without a word at start-up.
"""

from __future__ import annotations

import logging
import sys

import pytest

from giveaway import settings
from tests.conftest import TEST_PASSWORD, csrf_token, make_sqlite_app, make_user


@pytest.fixture
def proxied_app(tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    """Behind one proxy: the client address comes from X-Forwarded-For."""
    app = make_sqlite_app(
        tmp_path,
        sqlite_template,
        PROXY_FIX_HOPS=1,
        RATELIMIT_LOGIN="10/minute",
        RATELIMIT_PASSWORD_RESET="5/minute",
    )
    yield app
    app.extensions["db.engine"].dispose()


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def _post(client, path: str, data: dict[str, str], address: str, page: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client, page or path)
    return client.post(path, data={"csrf_token": token, **data}, headers=_from(address))


def test_wrong_passwords_from_many_addresses_are_counted_per_account(proxied_app):
    make_user(proxied_app, "alice")
    statuses = []
    for i in range(30):
        client = proxied_app.test_client()  # a new visitor each time, from a new address
        response = _post(
            client,
            "/account/login",
            {"username": "alice" if i % 2 else "ALICE", "password": f"guess-number-{i}"},
            f"203.0.113.{i + 1}",
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}, statuses


def test_other_accounts_are_not_held_back(proxied_app):
    make_user(proxied_app, "alice")
    make_user(proxied_app, "bob")
    for i in range(10):
        _post(
            proxied_app.test_client(),
            "/account/login",
            {"username": "alice", "password": "wrong-password"},
            f"203.0.113.{i + 1}",
        )
    response = _post(
        proxied_app.test_client(),
        "/account/login",
        {"username": "bob", "password": TEST_PASSWORD},
        "203.0.113.200",
    )
    assert response.status_code == 302


def test_reset_requests_for_one_account_are_counted_per_account(proxied_app):
    make_user(proxied_app, "alice")
    statuses = [
        _post(
            proxied_app.test_client(),
            "/account/reset",
            {"identifier": "alice@example.org" if i % 2 else "Alice@Example.org"},
            f"192.0.2.{i + 1}",
        ).status_code
        for i in range(8)
    ]
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}, statuses


def test_password_changes_are_counted_per_account(proxied_app):
    make_user(proxied_app, "alice")
    client = proxied_app.test_client()
    _post(client, "/account/login", {"username": "alice", "password": TEST_PASSWORD}, "192.0.2.1")
    statuses = [
        _post(
            client,
            "/account/password",
            {"current_password": "not-it", "password": "x", "password_confirm": "x"},
            f"192.0.2.{i + 2}",
            page="/account/",
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [400] * 10
    assert set(statuses[10:]) == {429}, statuses


# --- per-process storage under several worker processes ------------------------------


@pytest.mark.parametrize(
    ("argv", "processes"),
    [
        (["/srv/venv/bin/gunicorn", "-w", "4", "-k", "gthread", "--threads", "8", "wsgi:app"], 4),
        (["/srv/venv/bin/gunicorn", "--workers=3", "wsgi:app"], 3),
        (["/usr/lib/python3/site-packages/gunicorn/__main__.py", "-w", "2", "wsgi:app"], 2),
        (["/srv/venv/bin/gunicorn", "wsgi:app"], 1),
        (["/srv/venv/bin/flask", "--app", "wsgi", "run"], 1),
        (["/srv/venv/bin/pytest", "-w", "4"], 1),
    ],
)
def test_server_processes_reads_the_gunicorn_command(argv, processes):
    assert settings.server_processes(argv) == processes


def test_gunicorn_cmd_args_count_too(monkeypatch):
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--workers 6")
    assert settings.server_processes(["/srv/venv/bin/gunicorn", "wsgi:app"]) == 6


def test_per_process_storage_under_several_workers_is_warned_about_at_start(
    tmp_path, sqlite_template, monkeypatch, caplog
):
    monkeypatch.setattr(sys, "argv", ["/srv/venv/bin/gunicorn", "-w", "4", "wsgi:app"])
    with caplog.at_level(logging.WARNING, logger="giveaway.settings"):
        app = make_sqlite_app(tmp_path, sqlite_template, RATELIMIT_STORAGE_URI="memory://")
    app.extensions["db.engine"].dispose()
    [record] = [r for r in caplog.records if r.name == "giveaway.settings"]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "4 TIMES LOOSER" in message and "redis://" in message


@pytest.mark.parametrize(
    ("argv", "storage"),
    [
        (["/srv/venv/bin/gunicorn", "-w", "4", "wsgi:app"], "redis://127.0.0.1:6379/6"),
        (["/srv/venv/bin/gunicorn", "-w", "1", "wsgi:app"], "memory://"),
        (["/srv/venv/bin/flask", "run"], "memory://"),
    ],
)
def test_no_warning_when_the_counts_are_shared_or_single(
    tmp_path, sqlite_template, monkeypatch, caplog, argv, storage
):
    monkeypatch.setattr(sys, "argv", argv)
    with caplog.at_level(logging.WARNING, logger="giveaway.settings"):
        app = make_sqlite_app(tmp_path, sqlite_template, RATELIMIT_STORAGE_URI=storage)
    app.extensions["db.engine"].dispose()
    assert not [r for r in caplog.records if r.name == "giveaway.settings"]
