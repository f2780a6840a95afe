"""/metrics: who may scrape it, and that the figures move with what happens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from giveaway import clock, create_app, db
from giveaway.settings import SettingsError
from tests.conftest import (
    base_config,
    login,
    login_2fa,
    make_sqlite_app,
    post_form,
)
from tests.factories import make_admin, make_batch, make_maintainer
from tests.ops.conftest import METRICS_TOKEN, parse, scrape, value


def claim(client, region: str = "US"):  # type: ignore[no-untyped-def]
    return post_form(client, "/giveaway/claim", {"region": region}, page="/giveaway")


# --- who may scrape ------------------------------------------------------------------------


def test_metrics_are_refused_without_the_token(ops_app: Flask):
    client = ops_app.test_client()
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403
    assert client.get("/metrics", headers={"Authorization": METRICS_TOKEN}).status_code == 403
    right = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert right.status_code == 200
    assert right.headers["Content-Type"].startswith("text/plain; version=")
    assert "giveaway_http_requests_total" in right.get_data(as_text=True)


def test_metrics_from_a_configured_network(tmp_path, sqlite_template):
    inside = make_sqlite_app(tmp_path, sqlite_template, METRICS_NETWORKS="127.0.0.0/8, ::1")
    assert inside.test_client().get("/metrics").status_code == 200
    other = tmp_path / "other"
    other.mkdir()
    outside = make_sqlite_app(other, sqlite_template, METRICS_NETWORKS=["10.0.0.0/8"])
    assert outside.test_client().get("/metrics").status_code == 403
    # A proxy's forwarded address is not trusted unless PROXY_FIX_HOPS says so.
    forwarded = outside.test_client().get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert forwarded.status_code == 403


def test_a_bad_network_stops_the_portal_at_start_up(tmp_path):
    config = base_config(tmp_path) | {"METRICS_NETWORKS": ["10.0.0.0/8", "not-a-network"]}
    with pytest.raises(SettingsError, match="METRICS_NETWORKS"):
        create_app(config)
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        create_app(base_config(tmp_path) | {"LOG_FORMAT": "xml"})
    with pytest.raises(SettingsError, match="EVENT_ADDRESS_RETENTION_DAYS"):
        create_app(base_config(tmp_path) | {"EVENT_ADDRESS_RETENTION_DAYS": 0})


# --- the figures move ------------------------------------------------------------------------


def test_a_claim_moves_the_figures(any_ops_app: Flask):
    app = any_ops_app
    make_batch(app, "launch", count=3)
    make_batch(app, "last-week", count=2, expires_in=timedelta(days=3))
    make_maintainer(app, "erin")
    make_maintainer(app, "farid")
    client = app.test_client()
    before = scrape(client)
    assert value(before, "giveaway_codes_available", batch="launch") == 3
    assert value(before, "giveaway_codes_available", batch="last-week") == 2
    assert value(before, "giveaway_codes_expiring_soon", batch="last-week") == 2
    assert value(before, "giveaway_codes_expiring_soon", batch="launch") == 0

    login(client, "erin")
    assert claim(client).status_code == 303
    assert claim(client).status_code == 303  # asked again: the same code
    other = app.test_client()
    login(other, "farid")
    assert claim(other, "BR").status_code == 200  # keys cannot be shipped there
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("giveaway_claims_total", outcome="claimed", reason="") == 1
    assert moved("giveaway_claims_total", outcome="already", reason="") == 1
    assert moved("giveaway_claims_total", outcome="refused", reason="region") == 1
    # The earliest-expiring code went first.
    assert value(after, "giveaway_codes_available", batch="last-week") == 1
    assert value(after, "giveaway_codes_expiring_soon", batch="last-week") == 1
    assert value(after, "giveaway_codes_available", batch="launch") == 3
    assert moved("giveaway_signins_total", step="password", outcome="success") == 2
    assert (
        moved(
            "giveaway_http_requests_total", endpoint="giveaway.claim", method="POST", status="303"
        )
        == 2
    )
    assert (
        moved(
            "giveaway_http_request_duration_seconds_count", endpoint="giveaway.claim", status="303"
        )
        == 2
    )
    # The receipt was sent (inline in tests): nothing waits in the outbox.
    assert value(after, "giveaway_outbox_waiting") == 0
    assert value(after, "giveaway_outbox_oldest_waiting_seconds") == 0


def test_refusals_by_reason_and_an_empty_pool(ops_app: Flask):
    app = ops_app
    make_batch(app, "tiny", count=1)
    make_maintainer(app, "gail")
    make_maintainer(app, "hiro")
    from tests.conftest import make_user

    make_user(app, "ivan")  # no critical project
    client = app.test_client()
    before = scrape(client)
    gail, hiro, ivan = app.test_client(), app.test_client(), app.test_client()
    for c, name in ((gail, "gail"), (hiro, "hiro"), (ivan, "ivan")):
        login(c, name)
    assert claim(gail).status_code == 303
    assert claim(hiro).status_code == 409  # the page already knew: none left
    assert claim(ivan).status_code == 403
    after = scrape(client)
    moved = {
        labels: value(after, name, **dict(labels)) - value(before, name, **dict(labels))
        for (name, labels) in after
        if name == "giveaway_claims_total"
    }
    assert moved[(("outcome", "claimed"), ("reason", ""))] == 1
    assert moved[(("outcome", "pool_empty"), ("reason", ""))] == 1
    refused = {
        dict(labels)["reason"]: n for labels, n in moved.items() if n and "refused" in str(labels)
    }
    # Ivan maintains no critical project: the first failed check is the reason.
    assert refused == {"critical": 1}, refused


def test_sign_in_steps_and_rate_limit_refusals(ops_app: Flask):
    app = ops_app
    make_admin(app, "root")
    make_maintainer(app, "jo")
    client = app.test_client()
    before = scrape(client)
    login(client, "jo", "not-the-password-at-all")
    login_2fa(app.test_client(), "root")
    app.config["RATELIMIT_LOGIN"] = "1/minute"
    limited = app.test_client()
    login(limited, "jo", "wrong-again-and-again")
    assert login(limited, "jo", "wrong-again-and-again").status_code == 429
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("giveaway_signins_total", step="password", outcome="failure") >= 2
    assert moved("giveaway_signins_total", step="totp", outcome="success") == 1
    assert moved("giveaway_rate_limited_total", endpoint="accounts.login") == 1


def test_the_outbox_figures(ops_app: Flask):
    from giveaway.mail.models import OutboxMessage

    app = ops_app
    with app.app_context():
        now = clock.now()
        session = db.session()
        session.add_all(
            [
                OutboxMessage(
                    recipient="a@example.org",
                    subject="s",
                    template="t",
                    created_at=now - timedelta(hours=2),
                    attempts=3,
                ),
                OutboxMessage(recipient="b@example.org", subject="s", template="t", created_at=now),
                OutboxMessage(
                    recipient="c@example.org",
                    subject="s",
                    template="t",
                    created_at=now - timedelta(days=2),
                    attempts=7,
                    failed_at=now,
                ),
                OutboxMessage(
                    recipient="d@example.org",
                    subject="s",
                    template="t",
                    created_at=now - timedelta(days=3),
                    sent_at=now,
                ),
            ]
        )
        session.commit()
    samples = scrape(app.test_client())
    assert value(samples, "giveaway_outbox_waiting") == 2
    assert 7200 <= value(samples, "giveaway_outbox_oldest_waiting_seconds") < 7500
    assert value(samples, "giveaway_outbox_retrying") == 1
    assert value(samples, "giveaway_outbox_failed") == 1


def test_cron_jobs_report_their_last_success(any_ops_app: Flask, tmp_path):
    app = any_ops_app
    runner = app.test_cli_runner()
    started = clock.now().timestamp()
    result = runner.invoke(args=["expire-codes"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        args=["import-downloads", str(tmp_path / "missing.csv"), "--period", "2026-03"]
    )
    assert bad.exit_code != 0
    samples = scrape(app.test_client())
    last = value(samples, "giveaway_job_last_success_timestamp_seconds", command="expire-codes")
    assert started - 1 <= last <= clock.now().timestamp() + 1
    assert value(samples, "giveaway_job_last_duration_seconds", command="expire-codes") >= 0
    assert (
        "giveaway_job_last_success_timestamp_seconds",
        (("command", "import-downloads"),),
    ) not in samples
    # A second run moves the time on and counts in the database (shared by every host).
    from giveaway.observability.models import JobRun

    runner.invoke(args=["expire-codes"])
    with app.app_context():
        run = db.session().get(JobRun, "expire-codes")
        assert run is not None and run.successes == 2


def test_scrape_parses_as_prometheus_text(ops_app: Flask):
    response = ops_app.test_client().get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    samples = parse(response.get_data(as_text=True))
    names = {name for name, _ in samples}
    for expected in (
        "giveaway_outbox_waiting",
        "giveaway_outbox_oldest_waiting_seconds",
        "giveaway_outbox_failed",
    ):
        assert expected in names
