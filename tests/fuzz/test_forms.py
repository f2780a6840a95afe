"""Fuzz every form: never a 500, never half a write, every refusal says why.

Each example posts hostile values (with a valid CSRF token) and checks: the
answer is not a server error; a refusal (4xx) leaves every table as it was
(except the audit trail of failed sign-ins) and shows a message naming the
problem.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from giveaway.accounts import tokens
from tests.conftest import csrf_token, login, login_2fa
from tests.factories import make_admin, make_project, make_user
from tests.fuzz.conftest import FUZZ, table_counts

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "alice\x00",
        "\t\n",
        "é",
        "💥" * 3,
        "\u202e",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' OR '1'='1",
        "%00",
        "../../etc/passwd",
        "a" * 5000,
        "-1",
        "0",
        "99999999999999999999",
        "1e309",
        "NaN",
        "alice",
        "alice@example.org",
        "a-long-test-passphrase",
        "123456",
        "0000-0000",
        "US",
        "DE",
        "ZZ",
        "2030-01-01",
        "2026-02-30",
    ]
)
VALUE = st.one_of(NASTY, NASTY, st.text(max_size=40))
ERROR_SHOWN = re.compile(r'class="errors"|flash-error|role="alert"|class="[^"]*error')


def fields(*names: str) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={name: VALUE for name in names})


def no_limits(any_app: Flask) -> None:
    for name in (
        "RATELIMIT_LOGIN",
        "RATELIMIT_REGISTER",
        "RATELIMIT_PASSWORD_RESET",
        "RATELIMIT_TWOFACTOR",
        "RATELIMIT_CLAIM",
    ):
        any_app.config[name] = "100000/minute"


def check(any_app: Flask, client: FlaskClient, path: str, data, *, page: str, audit=()):  # type: ignore[no-untyped-def]
    before = table_counts(any_app)
    token = csrf_token(client, page)
    response = client.post(path, data={**data, "csrf_token": token})
    status = response.status_code
    assert status < 500, f"{path} answered {status} to {str(data)[:200]}"
    if 400 <= status < 500:
        after = table_counts(any_app)
        changed = {t for t in after if after[t] != before[t]} - set(audit)
        assert not changed, f"{path} refused {str(data)[:200]} but changed {changed}"
        html = response.get_data(as_text=True)
        assert ERROR_SHOWN.search(html), f"{path} refused {str(data)[:200]} without saying why"
    return response


@pytest.fixture
def anonymous(any_app: Flask) -> FlaskClient:
    no_limits(any_app)
    make_user(any_app, "alice")
    return any_app.test_client()


@FUZZ
@given(fields("username", "email", "password", "password_confirm"))
def test_register(any_app, anonymous, data):
    check(any_app, anonymous, "/account/register", data, page="/account/register")


@FUZZ
@given(fields("username", "password"))
def test_login(any_app, anonymous, data):
    response = check(
        any_app, anonymous, "/account/login", data, page="/account/login", audit=["events"]
    )
    if response.status_code == 302:
        anonymous.post("/account/logout", data={"csrf_token": csrf_token(anonymous, "/account/")})


@FUZZ
@given(fields("identifier"))
def test_reset_request(any_app, anonymous, data):
    check(any_app, anonymous, "/account/reset", data, page="/account/reset", audit=["events"])


@FUZZ
@given(fields("password", "password_confirm"))
def test_new_password(any_app, anonymous, data):
    user = make_user(any_app, f"reset-{datetime.now(UTC).timestamp()}".replace(".", "-"))
    with any_app.test_request_context():
        token = tokens.make(user, tokens.Purpose.RESET_PASSWORD)
    path = f"/account/reset/{token}"
    check(any_app, anonymous, path, data, page=path)


@pytest.fixture
def maintainer(any_app: Flask) -> FlaskClient:
    no_limits(any_app)
    user = make_user(any_app, "maria")
    make_project(any_app, "requests", maintainers=[(user, "Owner")], critical=True)
    client = any_app.test_client()
    login(client, "maria")
    return client


@FUZZ
@given(fields("current_password", "password", "password_confirm"))
def test_change_password(any_app, maintainer, data):
    response = check(any_app, maintainer, "/account/password", data, page="/account/")
    if response.status_code in (302, 303):  # changed: sign in again with the new one
        login(maintainer, "maria", data["password"])


@FUZZ
@given(fields("code"))
def test_totp_setup(any_app, maintainer, data):
    check(any_app, maintainer, "/account/security/totp", data, page="/account/security/totp")


@FUZZ
@given(fields("password"))
def test_recovery_codes_generate(any_app, maintainer, data):
    check(
        any_app,
        maintainer,
        "/account/security/recovery-codes",
        data,
        page="/account/security",
    )


@FUZZ
@given(fields("region", "acknowledge"))
def test_claim(any_app, maintainer, data):
    check(any_app, maintainer, "/giveaway/claim", data, page="/account/")


@pytest.fixture
def eligible(any_app: Flask) -> FlaskClient:
    from tests.factories import make_batch, make_maintainer

    no_limits(any_app)
    make_maintainer(any_app, "erin")
    make_batch(any_app, count=3)
    client = any_app.test_client()
    login(client, "erin")
    return client


@FUZZ
@given(fields("region", "acknowledge"))
def test_claim_when_eligible(any_app, eligible, data):
    # A good region claims a code (a 303): later examples see "already claimed".
    check(any_app, eligible, "/giveaway/claim", data, page="/account/")


@FUZZ
@given(fields("anything"))
def test_notify(any_app, maintainer, data):
    check(any_app, maintainer, "/giveaway/notify", data, page="/account/")


@pytest.fixture
def pending_2fa(any_app: Flask) -> FlaskClient:
    no_limits(any_app)
    make_admin(any_app, "root")
    client = any_app.test_client()
    assert login(client, "root").status_code == 302
    return client


@FUZZ
@given(fields("code"))
def test_signin_totp(any_app, pending_2fa, data):
    response = check(
        any_app,
        pending_2fa,
        "/account/login/2fa/totp",
        data,
        page="/account/login/2fa",
        audit=["events"],
    )
    assert response.status_code != 302 or data.get("code"), "signed in without a code"


@FUZZ
@given(fields("recovery_code"))
def test_signin_recovery(any_app, pending_2fa, data):
    check(
        any_app,
        pending_2fa,
        "/account/login/2fa/recovery",
        data,
        page="/account/login/2fa",
        audit=["events"],
    )


@pytest.fixture
def admin(any_app: Flask) -> FlaskClient:
    no_limits(any_app)
    make_admin(any_app, "root")
    client = any_app.test_client()
    login_2fa(client, "root")
    return client


@FUZZ
@given(
    fields("name", "vendor", "keys_per_code", "expires"),
    st.one_of(st.binary(max_size=100), st.text(max_size=100).map(str.encode), st.none()),
    st.one_of(st.just("codes.txt"), VALUE),
)
def test_admin_upload(any_app, admin, data, content, filename):
    if content is not None:
        data = {**data, "file": (io.BytesIO(content), filename)}
    # A preview (not yet a batch) is written for a good file: the only change.
    response = check(any_app, admin, "/admin/batches/upload", data, page="/admin/batches")
    if response.status_code == 200:
        assert "Confirm" in response.get_data(as_text=True) or "confirm" in response.get_data(
            as_text=True
        )


@FUZZ
@given(fields("token"))
def test_admin_confirm(any_app, admin, data):
    check(any_app, admin, "/admin/batches/confirm", data, page="/admin/batches")


@FUZZ
@given(fields("code", "reason"))
def test_admin_void(any_app, admin, data):
    check(any_app, admin, "/admin/codes/void", data, page="/admin/batches")


FILTER_PAGES = {
    "/admin/users": ("q", "page"),
    "/admin/events": ("user", "kind", "since", "until", "page", "format"),
    "/admin/critical": ("q", "page", "sort", "order"),
    "/admin/critical.csv": ("q", "sort", "order"),
    "/admin/imports": ("page",),
    "/admin/claims": ("page",),
}


@FUZZ
@given(
    st.sampled_from(sorted(FILTER_PAGES)).flatmap(
        lambda p: st.tuples(st.just(p), fields(*FILTER_PAGES[p]))
    )
)
def test_admin_filters(any_app, admin, case):
    path, args = case
    before = table_counts(any_app)
    response = admin.get(path, query_string=args)
    assert response.status_code < 500, f"{path}?{args!r} answered {response.status_code}"
    if 400 <= response.status_code < 500:
        assert ERROR_SHOWN.search(response.get_data(as_text=True)), f"{path}?{args!r}: no reason"
        assert table_counts(any_app) == before


JSON_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | VALUE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(VALUE, inner, max_size=3),
    max_leaves=10,
)
JSON_BODY = st.one_of(
    JSON_ANY,
    st.fixed_dictionaries({"label": JSON_ANY, "credential": JSON_ANY}, optional={"next": JSON_ANY}),
    st.fixed_dictionaries(
        {
            "credential": st.fixed_dictionaries(
                {
                    "id": VALUE,
                    "rawId": VALUE,
                    "type": st.sampled_from(["public-key", "x"]),
                    "response": st.dictionaries(
                        st.sampled_from(
                            [
                                "clientDataJSON",
                                "attestationObject",
                                "authenticatorData",
                                "signature",
                            ]
                        ),
                        VALUE,
                    ),
                }
            )
        }
    ),
)


@FUZZ
@given(JSON_BODY)
def test_key_registration_json(any_app, maintainer, body):
    before = table_counts(any_app)
    token = csrf_token(maintainer, "/account/security")
    maintainer.post("/account/security/webauthn/options", json={}, headers={"X-CSRFToken": token})
    response = maintainer.post(
        "/account/security/webauthn/register", json=body, headers={"X-CSRFToken": token}
    )
    assert response.status_code < 500, str(body)[:200]
    assert response.status_code >= 400, "a made-up key was registered"
    assert response.get_json()["error"]
    after = table_counts(any_app)
    changed = {t for t in after if after[t] != before[t]} - {
        "webauthn_used_challenges"
    }  # a spent challenge is spent
    assert not changed, changed


@FUZZ
@given(JSON_BODY)
def test_key_sign_in_json(any_app, pending_2fa, body):
    token = csrf_token(pending_2fa, "/account/login/2fa")
    pending_2fa.post("/account/login/2fa/webauthn/options", json={}, headers={"X-CSRFToken": token})
    response = pending_2fa.post(
        "/account/login/2fa/webauthn", json=body, headers={"X-CSRFToken": token}
    )
    assert response.status_code < 500, str(body)[:200]
    assert response.status_code >= 400, "signed in with a made-up key"
    assert response.get_json()["error"]
