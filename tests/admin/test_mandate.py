"""The 2FA mandate: the banner, the compliance page and remind-2fa."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event, select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.admin import mandate
from giveaway.admin.models import MandateReminder
from giveaway.events.models import Event
from giveaway.settings import SettingsError
from tests.conftest import make_sqlite_app
from tests.factories import (
    ADMIN_TOTP_SECRET,
    add_keys,
    make_admin,
    make_project,
    make_user,
    set_clock,
)

BANNER = "Two-factor authentication is required"


@pytest.fixture
def people(app):  # type: ignore[no-untyped-def]
    crit = make_user(app, "crit")  # Owner of a critical project, no 2FA
    crit_totp = make_user(app, "crit_totp", totp_secret=ADMIN_TOTP_SECRET)
    crit_key = make_user(app, "crit_key")
    add_keys(app, crit_key, 1)
    quiet = make_user(app, "quiet")  # maintains a project that is not critical
    make_user(app, "nobody")  # no project at all
    make_project(
        app,
        "Core-Lib",
        maintainers=[(crit, "Owner"), (crit_totp, "Maintainer"), (crit_key, "Owner")],
        critical=True,
    )
    make_project(app, "quiet-lib", maintainers=[(quiet, "Maintainer")])
    return app


CASES = [
    # (mandate, username, banner shown)
    ("none", "crit", False),
    ("none", "quiet", False),
    ("critical", "crit", True),
    ("critical", "crit_totp", False),
    ("critical", "crit_key", False),
    ("critical", "quiet", False),
    ("critical", "nobody", False),
    ("all", "crit", True),
    ("all", "quiet", True),
    ("all", "crit_key", False),
    ("all", "crit_totp", False),
    ("all", "nobody", False),
]


@pytest.mark.parametrize("scope, username, shown", CASES)
def test_banner(people, client, auth, scope, username, shown):
    people.config["MANDATE_2FA"] = scope
    if username == "crit_totp":
        auth.login_with_totp(username)
    elif username == "crit_key":
        # Signing in would need the key itself; ask the rule the banner uses.
        with people.test_request_context():
            user = db.session().scalar(select(User).where(User.username == username))
            assert (mandate.banner(db.session(), user) is not None) is shown
        return
    else:
        auth.login(username)
    for path in ("/", "/account/"):
        html = client.get(path).get_data(as_text=True)
        assert (BANNER in html) is shown, (scope, username, path)
        if shown:
            assert 'href="/giveaway/setup"' in html


def test_no_banner_for_visitors(people, client):
    people.config["MANDATE_2FA"] = "all"
    assert BANNER not in client.get("/").get_data(as_text=True)


def _statements(app, client, path):  # type: ignore[no-untyped-def]
    found = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        found.append(statement)

    engine = app.extensions["db.engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return found


def test_banner_costs_at_most_one_query(people, client, auth):
    auth.login("crit")
    client.get("/")
    people.config["MANDATE_2FA"] = "none"
    without = _statements(people, client, "/")
    people.config["MANDATE_2FA"] = "critical"
    with_banner = _statements(people, client, "/")
    assert len(with_banner) - len(without) <= 1
    assert BANNER in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    "setting, value",
    [
        ("MANDATE_2FA", "sometimes"),
        ("MANDATE_2FA", 3),
        ("MANDATE_REMINDER_DAYS", 0),
        ("MANDATE_REMINDER_DAYS", "two weeks"),
        ("MANDATE_REMINDER_DAYS", 1.5),
    ],
)
def test_bad_settings_stop_the_start(tmp_path, sqlite_template, setting, value):
    with pytest.raises(SettingsError, match=setting):
        make_sqlite_app(tmp_path, sqlite_template, **{setting: value})


def test_good_settings(tmp_path, sqlite_template):
    app = make_sqlite_app(
        tmp_path, sqlite_template, MANDATE_2FA=" Critical ", MANDATE_REMINDER_DAYS="7"
    )
    with app.app_context():
        assert mandate.scope() == "critical" and mandate.reminder_days() == 7


# --- compliance -----------------------------------------------------------------------


def test_compliance_lists_maintainers_without_2fa(people, client, auth):
    make_admin(people, "root")
    auth.login_with_totp("root")
    people.config["MANDATE_2FA"] = "critical"
    html = client.get("/admin/compliance").get_data(as_text=True)
    assert "crit@example.org" in html and "Core-Lib" in html and "Owner" in html
    assert "crit_totp" not in html and "crit_key" not in html and "quiet" not in html
    people.config["MANDATE_2FA"] = "all"
    html = client.get("/admin/compliance").get_data(as_text=True)
    assert "quiet-lib" in html and "not critical" in html
    # Without a mandate the page shows whom a critical mandate would cover.
    people.config["MANDATE_2FA"] = "none"
    html = client.get("/admin/compliance").get_data(as_text=True)
    assert "No 2FA mandate is in force" in html and "crit@example.org" in html


def test_compliance_csv(people, client, auth):
    evil = make_user(people, "evil", email="=1+2@example.org")
    make_project(people, "-danger", maintainers=[(evil, "Owner")], critical=True)
    make_admin(people, "root")
    auth.login_with_totp("root")
    response = client.get("/admin/compliance?format=csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "project,maintainer,role,email,critical_since,last_reminded_at"
    assert any(line.startswith("Core-Lib,crit,Owner,crit@example.org,") for line in lines)
    assert any(line.startswith("'-danger,evil,Owner,'=1+2@example.org,") for line in lines)
    with people.app_context():
        recorded = db.session().scalar(select(Event).where(Event.kind == "admin:exported"))
        assert recorded.detail == {"what": "compliance", "rows": 2}
        assert recorded.actor.username == "root"


# --- remind-2fa ----------------------------------------------------------------------------

DAY0 = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def test_remind_once_per_interval(people, outbox):
    people.config.update(MANDATE_2FA="critical", MANDATE_REMINDER_DAYS=14)
    runner = people.test_cli_runner()

    def run(when):  # type: ignore[no-untyped-def]
        set_clock(people, when)
        result = runner.invoke(args=["remind-2fa"])
        assert result.exit_code == 0, result.output
        return result.output.strip()

    assert run(DAY0) == (
        "remind-2fa: 1 reminders sent; 1 maintainers covered by the critical mandate lack 2FA, "
        "0 of them reminded in the last 14 days."
    )
    assert [m["To"] for m in outbox.messages] == ["crit <crit@example.org>"]
    message = outbox.messages[0]
    assert "Core-Lib" in message["Subject"]
    body = outbox.text(message)
    assert "Core-Lib" in body and "http://localhost/giveaway/setup" in body
    # Again the same day, and 13 days later: nothing.
    assert run(DAY0 + timedelta(hours=2)).startswith("remind-2fa: 0 reminders sent")
    assert run(DAY0 + timedelta(days=13)).endswith("1 of them reminded in the last 14 days.")
    assert len(outbox) == 1
    # After the interval: once more.
    assert run(DAY0 + timedelta(days=14, minutes=1)).startswith("remind-2fa: 1 reminders sent")
    assert len(outbox) == 2
    with people.app_context():
        row = db.session().scalar(select(MandateReminder))
        assert row.count == 2 and row.last_reminded_at == DAY0 + timedelta(days=14, minutes=1)


def test_remind_under_all_and_none(people, outbox):
    runner = people.test_cli_runner()
    people.config["MANDATE_2FA"] = "none"
    result = runner.invoke(args=["remind-2fa"])
    assert result.exit_code == 0 and "nobody to remind" in result.output
    assert len(outbox) == 0
    people.config["MANDATE_2FA"] = "all"
    result = runner.invoke(args=["remind-2fa"])
    assert "2 reminders sent" in result.output
    assert sorted(str(m["To"]) for m in outbox.messages) == [
        "crit <crit@example.org>",
        "quiet <quiet@example.org>",
    ]


def test_remind_with_a_bad_setting_fails_cleanly(people):
    people.config["MANDATE_2FA"] = "everyone"
    result = people.test_cli_runner().invoke(args=["remind-2fa"])
    assert result.exit_code == 1 and "MANDATE_2FA must be one of" in result.output


@pytest.mark.postgres
def test_remind_on_several_hosts_takes_turns(pg_app):
    crit = make_user(pg_app, "crit")
    make_project(pg_app, "Core-Lib", maintainers=[(crit, "Owner")], critical=True)
    pg_app.config["MANDATE_2FA"] = "critical"
    engine = sa.create_engine(pg_app.config["DATABASE_URL"])
    try:
        with engine.connect() as other:
            other.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": mandate.LOCK_KEY})
            result = pg_app.test_cli_runner().invoke(args=["remind-2fa"])
            assert "another run holds the lock" in result.output
            other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": mandate.LOCK_KEY})
        result = pg_app.test_cli_runner().invoke(args=["remind-2fa"])
        assert "1 reminders sent" in result.output
        result = pg_app.test_cli_runner().invoke(args=["remind-2fa"])
        assert "0 reminders sent" in result.output
    finally:
        engine.dispose()
