"""Error reports: sent to Sentry only with SENTRY_DSN, and scrubbed of every secret first."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sentry_sdk
from flask import Flask
from sentry_sdk.transport import Transport

from giveaway.observability.errorreports import scrub, scrub_text
from tests.conftest import ADMIN_TOTP_SECRET, TEST_PASSWORD, make_sqlite_app

DSN = "https://publickey@sentry.invalid/42"
PROMO_CODE = "ZX81-SPEC-7788-QL"
RECOVERY_CODE = "abcd-efgh-ijkl-mnop"
EMAIL_TOKEN = "eyJ1Ijo0Mn0.Z1x2Cw.pQe5Yb3VfGk8Lz0RnT7sUwXa"
REGION = "NO"


class FakeTransport(Transport):
    """Keeps what would have left the process."""

    def __init__(self) -> None:
        super().__init__({"dsn": DSN})
        self.sent: list[bytes] = []

    def capture_envelope(self, envelope) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(envelope.serialize())


@pytest.fixture
def reporting_app(tmp_path, sqlite_template) -> Iterator[tuple[Flask, FakeTransport]]:
    app = make_sqlite_app(tmp_path, sqlite_template, SENTRY_DSN=DSN)
    transport = FakeTransport()
    client = sentry_sdk.get_client()
    assert client.is_active()
    client.transport = transport
    yield app, transport
    client.close()
    sentry_sdk.init()  # no DSN: reporting off again for the other tests
    app.extensions["db.engine"].dispose()


def test_no_dsn_means_no_reporting(app):
    assert "sentry" not in app.extensions


def test_an_error_report_leaves_without_any_secret(reporting_app):
    app, transport = reporting_app
    log = logging.getLogger("giveaway.tests.sentry")

    @app.post("/explode-with-secrets")
    def explode():  # type: ignore[no-untyped-def]
        password = TEST_PASSWORD
        totp_secret = ADMIN_TOTP_SECRET
        code = PROMO_CODE
        recovery_code = RECOVERY_CODE
        token = EMAIL_TOKEN
        region = REGION
        holder = {"note": f"claimed {code}", "region": region}
        # A breadcrumb whose text names secrets, then an error naming them again.
        log.info("checking region=%s for code %s", region, code)
        raise RuntimeError(
            f"failed for password={password} secret {totp_secret} recovery {recovery_code} "
            f"/account/reset/{token} [parameters: {{'code': '{code}'}}] {holder}"
        )

    response = app.test_client().post(
        "/explode-with-secrets?next=/account/verify/" + EMAIL_TOKEN,
        data={
            "password": TEST_PASSWORD,
            "region": REGION,
            "code": PROMO_CODE,
            "recovery_code": RECOVERY_CODE,
        },
        headers={"Cookie": "session=abc.def.ghi", "X-CSRFToken": "csrf-token-value"},
    )
    assert response.status_code in (400, 500)  # CSRF may stop it first: post it without
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post(
        "/explode-with-secrets",
        data={"password": TEST_PASSWORD, "region": REGION, "code": PROMO_CODE},
    )
    assert response.status_code == 500
    assert transport.sent, "no event was sent"
    sent = b"\n".join(transport.sent).decode()
    assert "RuntimeError" in sent and "explode" in sent  # the report is useful
    for secret in (
        TEST_PASSWORD,
        ADMIN_TOTP_SECRET,
        PROMO_CODE,
        RECOVERY_CODE,
        EMAIL_TOKEN,
        "abc.def.ghi",
        "csrf-token-value",
    ):
        assert secret not in sent, f"{secret!r} left in an error report"
    # The report names the request, so that the JSON log lines of it can be found.
    assert f'"request_id":"{response.headers["X-Request-ID"]}"' in sent.replace(" ", "")
    assert f"'{REGION}'" not in sent and f'"{REGION}"' not in sent
    assert "127.0.0.1" not in sent  # client addresses are not sent


def test_the_scrubber_by_name_and_by_shape():
    event = {
        "request": {"data": {"region": "DE", "password": "x", "next": "/giveaway"}},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "duplicate key [parameters: {'code': 'AB12-CD34'}] (Background",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "claim",
                                "abs_path": "/srv/giveaway/claims/service.py",
                                "vars": {"region": "'US'", "totp_secret": "'JBSW'", "n": "3"},
                            }
                        ]
                    },
                }
            ]
        },
    }
    clean = scrub(event)
    assert clean["request"]["data"] == {
        "region": "[Filtered]",
        "password": "[Filtered]",
        "next": "/giveaway",
    }
    value = clean["exception"]["values"][0]
    assert "AB12-CD34" not in value["value"] and value["type"] == "IntegrityError"
    frame = value["stacktrace"]["frames"][0]
    assert frame["vars"] == {"region": "[Filtered]", "totp_secret": "[Filtered]", "n": "3"}
    assert frame["abs_path"] == "/srv/giveaway/claims/service.py"
    assert scrub_text("JBSW Y3DP EHPK 3PXP JBSW Y3DP") == "[Filtered]"
    assert scrub_text("user 42 signed in") == "user 42 signed in"


def test_a_bad_dsn_stops_the_portal(tmp_path):
    from giveaway import create_app
    from giveaway.settings import SettingsError
    from tests.conftest import base_config

    with pytest.raises(SettingsError, match="SENTRY_DSN"):
        create_app(base_config(tmp_path) | {"SENTRY_DSN": "not a dsn"})
    with pytest.raises(SettingsError, match="SENTRY_TRACES_SAMPLE_RATE"):
        create_app(base_config(tmp_path) | {"SENTRY_DSN": DSN, "SENTRY_TRACES_SAMPLE_RATE": 5})
