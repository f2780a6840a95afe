"""Hostile users: other people's things, off-site redirects, fixation, HTML injection."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask

from giveaway import db
from tests.conftest import csrf_token, login, login_2fa, make_sqlite_app, outbox_for, post_form
from tests.factories import ADMIN_TOTP_SECRET, TEST_PASSWORD, make_admin, make_project, make_user
from tests.twofactor.authenticator import SoftwareAuthenticator
from tests.twofactor.conftest import ORIGIN, Flow

XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture
def wapp(tmp_path, sqlite_template):  # type: ignore[no-untyped-def]
    """An app whose WebAuthn settings match the software authenticator."""
    app = make_sqlite_app(
        tmp_path,
        sqlite_template,
        WEBAUTHN_RP_ID="localhost",
        WEBAUTHN_ORIGIN=ORIGIN,
        RATELIMIT_TWOFACTOR="1000/minute",
        RATELIMIT_LOGIN="1000/minute",
    )
    yield app
    app.extensions["db.engine"].dispose()


def add_key(app: Flask, username: str, label: str = "My key"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, username)
    flow = Flow(app, client)
    # A maintainer who could still claim ticks "I give up the free keys" (issue 13).
    response = flow.register_key(SoftwareAuthenticator(origin=ORIGIN), label, give_up_keys=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return client, flow


def key_ids(app: Flask, username: str) -> list[int]:
    from giveaway.accounts.models import User
    from giveaway.twofactor.models import WebAuthnCredential

    with app.app_context():
        return list(
            db.session().scalars(
                sa.select(WebAuthnCredential.id)
                .join(User, User.id == WebAuthnCredential.user_id)
                .where(User.username == username)
            )
        )


# --- other people's things -------------------------------------------------------------


def test_nobody_removes_another_users_key(wapp):
    make_user(wapp, "victim")
    make_user(wapp, "mallory")
    add_key(wapp, "victim", "Victim key")
    mallory, _ = add_key(wapp, "mallory", "Mallory key")
    [victims] = key_ids(wapp, "victim")
    token = csrf_token(mallory, "/account/security")
    response = mallory.post(
        f"/account/security/webauthn/{victims}/remove",
        data={"csrf_token": token, f"key{victims}-password": TEST_PASSWORD},
    )
    assert response.status_code == 400
    assert "no such security key on your account" in response.get_data(as_text=True)
    assert key_ids(wapp, "victim") == [victims]
    page = mallory.get("/account/security").get_data(as_text=True)
    assert "Victim key" not in page


def test_recovery_codes_belong_to_their_owner(wapp):
    make_user(wapp, "victim")
    make_user(wapp, "mallory")
    victim, _ = add_key(wapp, "victim")
    codes_page = post_form(
        victim, "/account/security/recovery-codes", {}, page="/account/security/recovery-codes"
    ).get_data(as_text=True)
    codes = re.findall(r"<li><code>([^<]+)</code></li>", codes_page)
    assert codes, codes_page
    add_key(wapp, "mallory")
    # Mallory, at her own second step, tries the victim's codes: refused.
    attacker = wapp.test_client()
    assert login(attacker, "mallory").status_code == 302
    for code in codes[:3]:
        response = post_form(
            attacker,
            "/account/login/2fa/recovery",
            {"recovery_code": code},
            page="/account/login/2fa",
        )
        assert response.status_code in (400, 401), code
    assert attacker.get("/account/").status_code == 302  # still not signed in
    # And her recovery-codes page never shows anyone else's.
    signed_in = wapp.test_client()
    login(signed_in, "mallory")
    page = signed_in.get("/account/security/recovery-codes").get_data(as_text=True)
    assert not any(code in page for code in codes)


def test_a_claimed_code_is_shown_only_to_its_claimant(app):
    from tests.factories import make_batch, make_maintainer

    app.config["RATELIMIT_CLAIM"] = "1000/minute"
    make_maintainer(app, "erin")
    make_maintainer(app, "mallory")
    make_batch(app, codes=["ERIN-CODE-0001", "MALL-CODE-0002"])
    erin = app.test_client()
    login(erin, "erin")
    response = post_form(erin, "/giveaway/claim", {"region": "DE"}, page="/giveaway")
    assert response.status_code == 303, response.get_data(as_text=True)
    erins = re.search(r'id="promo-code">([^<]+)<', erin.get("/giveaway").get_data(as_text=True))
    assert erins
    mallory = app.test_client()
    login(mallory, "mallory")
    for path in ("/giveaway", "/account/", "/account/security"):
        assert erins.group(1) not in mallory.get(path).get_data(as_text=True), path
    # The claim form takes no user or code field: extra ones are ignored.
    response = post_form(
        mallory,
        "/giveaway/claim",
        {"region": "DE", "user_id": "1", "code": erins.group(1)},
        page="/giveaway",
    )
    mine = re.search(r'id="promo-code">([^<]+)<', mallory.get("/giveaway").get_data(as_text=True))
    assert mine and mine.group(1) != erins.group(1)


# --- off-site redirects ----------------------------------------------------------------

OFF_SITE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "/%2F%2Fevil.example",
    "http://localhost.evil.example/",
]


def assert_on_site(location: str) -> None:
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location.split("?")[0].lower() or location.startswith("/%2F"), location


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(app, target):
    make_user(app, "alice")
    client = app.test_client()
    token = csrf_token(client, "/account/login")
    response = client.post(
        f"/account/login?next={target}",
        data={"csrf_token": token, "username": "alice", "password": TEST_PASSWORD},
    )
    assert response.status_code == 302
    assert_on_site(response.headers["Location"])
    # Already signed in: GET /account/login?next=... redirects too.
    response = client.get("/account/login", query_string={"next": target})
    assert_on_site(response.headers["Location"])
    # And the form never carries it into the page as a link.
    html = (
        app.test_client()
        .get("/account/login", query_string={"next": target})
        .get_data(as_text=True)
    )
    for shown in re.findall(r'(?:href|action|value)="([^"]*)"', html):
        if "evil" in shown:
            assert_on_site(htmllib.unescape(shown))


@pytest.mark.parametrize("target", OFF_SITE)
def test_second_step_never_redirects_off_site(app, target):
    make_admin(app, "root")
    client = app.test_client()
    token = csrf_token(client, "/account/login")
    response = client.post(
        "/account/login",
        data={
            "csrf_token": token,
            "username": "root",
            "password": TEST_PASSWORD,
            "next": target,
        },
    )
    assert response.headers["Location"].endswith("/account/login/2fa")
    token = csrf_token(client, "/account/login/2fa")
    response = client.post(
        "/account/login/2fa/totp",
        data={"csrf_token": token, "code": pyotp.TOTP(ADMIN_TOTP_SECRET).now()},
    )
    assert response.status_code == 302
    assert_on_site(response.headers["Location"])


@pytest.mark.parametrize("target", OFF_SITE[:4])
def test_key_registration_next_stays_on_site(wapp, target):
    make_user(wapp, "alice")
    client = wapp.test_client()
    login(client, "alice")
    flow = Flow(wapp, client)
    options = flow.register_options().get_json()
    credential = SoftwareAuthenticator(origin=ORIGIN).create(options)
    response = flow.post_json(
        "/account/security/webauthn/register",
        {"label": "Key", "credential": credential, "next": target},
        "/account/security",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_on_site(response.get_json()["redirect"])


def test_walkthrough_next_stays_on_site(app):
    if not any(r.rule == "/giveaway/setup" for r in app.url_map.iter_rules()):
        pytest.skip("the /giveaway/setup walkthrough is not on this branch")
    make_user(app, "alice")
    client = app.test_client()
    login(client, "alice")
    for target in OFF_SITE:
        response = client.get("/giveaway/setup", query_string={"next": target})
        assert response.status_code < 500
        assert "evil.example" not in response.get_data(as_text=True)
        if "Location" in response.headers:
            assert_on_site(response.headers["Location"])


# --- session fixation ------------------------------------------------------------------


def test_values_planted_before_sign_in_are_gone(app):
    make_user(app, "alice")
    client = app.test_client()
    client.get("/account/login")
    with client.session_transaction() as planted:
        planted["planted"] = "by-the-attacker"
        planted["_fresh"] = True
        planted["csrf_token"] = "0" * 40
    before = client.get_cookie("session").value
    assert login(client, "alice").status_code == 302
    assert client.get_cookie("session").value != before
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after.get("csrf_token") != "0" * 40
        assert after.get("_user_id")


def test_values_planted_before_the_second_step_are_gone(app):
    make_admin(app, "root")
    client = app.test_client()
    client.get("/account/login")
    with client.session_transaction() as planted:
        planted["planted"] = "x"
    login(client, "root")
    with client.session_transaction() as pending:
        assert "planted" not in pending and "_user_id" not in pending
        pending["planted-again"] = "y"
    login_2fa(client, "root")
    with client.session_transaction() as after:
        assert "planted-again" not in after and "twofactor.pending" not in after


def test_the_pending_second_step_cannot_be_used_twice(app):
    """A copy of the cookie taken between password and code signs nobody in later."""
    make_admin(app, "root")
    client = app.test_client()
    login(client, "root")
    token = csrf_token(client, "/account/login/2fa")
    pending_cookie = client.get_cookie("session").value  # holds the CSRF token too
    totp = pyotp.TOTP(ADMIN_TOTP_SECRET)
    ok = client.post("/account/login/2fa/totp", data={"csrf_token": token, "code": totp.now()})
    assert ok.status_code == 302
    # The attacker replays the pending cookie with the next code (step + 1).
    thief = app.test_client()
    thief.set_cookie("session", pending_cookie, domain="localhost")
    later = totp.at(datetime.now(UTC).timestamp() + 30)
    response = thief.post("/account/login/2fa/totp", data={"csrf_token": token, "code": later})
    assert thief.get("/account/").status_code == 302, "a replayed pending step signed in"
    assert response.status_code in (302, 400, 401), response.status_code
    if response.status_code == 302:
        assert "/account/login" in response.headers["Location"]


def test_signing_out_ends_the_session_everywhere_it_was_copied(app):
    make_user(app, "alice")
    client = app.test_client()
    login(client, "alice")
    copied = client.get_cookie("session").value
    post_form(client, "/account/logout", {}, page="/account/")
    thief = app.test_client()
    thief.set_cookie("session", copied, domain="localhost")
    # Flask sessions are signed cookies: a copy stays valid until the password
    # (session version) changes. Changing the password ends every copy.
    login(client, "alice")
    post_form(
        client,
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "password": "another-long-passphrase-2",
            "password_confirm": "another-long-passphrase-2",
        },
        page="/account/",
    )
    assert thief.get("/account/").status_code == 302


# --- HTML in names, usernames and labels is escaped everywhere -------------------------


def test_html_in_names_and_labels_is_escaped_everywhere(wapp):
    from tests.factories import make_batch

    app = wapp
    app.config["RATELIMIT_CLAIM"] = "1000/minute"
    user = make_user(app, "maria", created_at=datetime(2020, 1, 1, tzinfo=UTC))
    make_project(
        app, "evil-project", display_name=XSS, maintainers=[(user, "Owner")], critical=True
    )
    make_admin(app, "root")
    make_batch(app, name=XSS[:60], count=2)
    with app.app_context():  # a claim from the hostile batch, for the claims page
        from giveaway import clock
        from giveaway.accounts.models import User
        from giveaway.claims import claim

        session = db.session()
        claim.claim(session, session.get(User, user.id), clock.now())
        session.commit()
    maria, _ = add_key(app, "maria", XSS[:60])
    # The project's critical mail, the key mail: rendered with the hostile text.
    admin = app.test_client()
    login_2fa(admin, "root")
    with app.app_context():
        from giveaway.accounts.models import User

        maria_id = db.session().scalar(sa.select(User.id).where(User.username == "maria"))
    pages = {
        maria: ["/account/", "/account/security", "/giveaway"],
        admin: [
            "/admin/",
            "/admin/users",
            "/admin/users?q=maria",
            f"/admin/users/{maria_id}",
            "/admin/critical",
            "/admin/claims",
            "/admin/batches",
            "/admin/events",
            f"/admin/events?user=maria&kind={XSS[:30]}",
            f"/admin/users?q={XSS[:50]}",
        ],
    }
    shown = 0
    for client, paths in pages.items():
        for path in paths:
            response = client.get(path)
            assert response.status_code < 500, path
            body = response.get_data(as_text=True)
            assert "<script>alert(1)" not in body, path
            assert "<img src=x" not in body, path
            if "&lt;script&gt;alert(1)" in body or htmllib.escape(XSS[:20]) in body:
                shown += 1
    assert shown >= 5  # the hostile names are shown (escaped), not dropped
    for message in outbox_for(app).messages:
        for part in message.walk():
            if part.get_content_type() == "text/html":
                body = part.get_content()
                assert "<script>alert(1)" not in body and "<img src=x" not in body


# --- a NUL character anywhere -----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/account/login", {"username": "alice\x00", "password": "x"}),
        ("/account/reset", {"identifier": "a\x00b"}),
        ("/account/register", {"username": "a\x00b", "email": "a@example.org"}),
    ],
)
def test_a_nul_character_is_refused_with_a_reason(any_app, path, data):
    """PostgreSQL cannot compare text with a NUL: it once made these a 500."""
    client = any_app.test_client()
    response = post_form(client, path, data)
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)


def test_a_nul_character_in_a_search_or_json(any_app):
    make_admin(any_app, "root")
    client = any_app.test_client()
    login_2fa(client, "root")
    for path in ("/admin/users?q=a%00b", "/admin/events?user=%00", "/admin/critical?q=%00"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "NUL character" in response.get_data(as_text=True)
    response = client.post(
        "/account/security/webauthn/register",
        json={"label": "key\u0000", "credential": {}},
        headers={"X-CSRFToken": csrf_token(client, "/account/security")},
    )
    assert response.status_code == 400
    assert "NUL character" in response.get_json()["error"]


@pytest.mark.parametrize("label", [123, True, ["a"], {"a": 1}])
def test_a_key_name_that_is_not_text_is_refused(wapp, label):
    """It once ended in a 500 (the name was split like a string)."""
    make_user(wapp, "alice")
    client = wapp.test_client()
    login(client, "alice")
    flow = Flow(wapp, client)
    flow.register_options()
    response = flow.post_json(
        "/account/security/webauthn/register",
        {"label": label, "credential": {}},
        "/account/security",
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "The key's name must be text.", "field": "label"}


# --- CSV exports of hostile names --------------------------------------------------------


def test_csv_exports_never_start_a_cell_with_a_formula(wapp):
    import csv
    import io

    from tests.factories import make_batch, make_maintainer

    app = wapp
    app.config["RATELIMIT_CLAIM"] = "1000/minute"
    make_admin(app, "root")
    make_maintainer(app, "erin")
    make_batch(app, name="=1+1", codes=["CSV-CODE-0001"])
    erin, _ = add_key(app, "erin", '=HYPERLINK("http://evil.example","x")')
    admin = app.test_client()
    login_2fa(admin, "root")
    # Erin has 2FA now and is no longer eligible; the export still lists the key event.
    for path in ("/admin/claims.csv", "/admin/critical.csv", "/admin/events?format=csv"):
        response = admin.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "text/csv", path
        for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
            for cell in row:
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path, cell)
                assert not (cell.startswith("-") and not re.fullmatch(r"-?[\d.]+", cell)), (
                    path,
                    cell,
                )


def test_emails_escape_hostile_project_names(app):
    """Project display names come from imports: the HTML mail escapes them."""
    from types import SimpleNamespace

    from giveaway import mail

    user = SimpleNamespace(username="maria", email="maria@example.org")
    project = SimpleNamespace(display_name=XSS, name="evil", why="in the top 1% " + XSS)
    with app.test_request_context():
        message = mail.build(
            "maria@example.org",
            "critical_project",
            user=user,
            projects=[project],
            link="http://localhost/giveaway",
            months="six months",
            percent="1",
            index_name="PyPI",
        )
    import email
    import email.policy

    received = email.message_from_bytes(bytes(message), policy=email.policy.default)
    html_parts = [p.get_content() for p in received.walk() if p.get_content_type() == "text/html"]
    assert html_parts
    for body in html_parts:
        assert "<script>alert(1)" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "\n" not in message["Subject"]


# --- replays (the sequential ones are in tests/twofactor: test_a_code_works_once,
# test_signin_challenge_cannot_be_replayed, test_registration_challenge_is_single_use,
# test_sign_count_going_backwards_is_refused_and_recorded) -----------------------------


def test_one_totp_code_signs_in_one_of_two_waiting_sessions(app):
    """Someone watching the code being typed, at the second step in parallel."""
    app.config["RATELIMIT_TWOFACTOR"] = "1000/minute"
    make_admin(app, "root")
    first, second = app.test_client(), app.test_client()
    login(first, "root")
    login(second, "root")
    tokens = [csrf_token(client, "/account/login/2fa") for client in (first, second)]
    now = pyotp.TOTP(ADMIN_TOTP_SECRET).now()
    answers = [
        client.post("/account/login/2fa/totp", data={"csrf_token": token, "code": now})
        for client, token in zip((first, second), tokens, strict=True)
    ]
    assert answers[0].status_code == 302
    assert first.get("/account/").status_code == 200
    # The second is refused: its step is spent by the first sign-in (and the
    # code was used): back to the password.
    assert answers[1].status_code == 302
    assert answers[1].headers["Location"].endswith("/account/login")
    assert second.get("/account/").status_code == 302
