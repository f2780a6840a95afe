"""The set-up walkthrough: steps derived from state, the page, its links back, the reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask

from giveaway import db
from giveaway.accounts.models import User
from giveaway.claims import expiry, walkthrough
from giveaway.claims.models import PromoCode
from tests.conftest import login, post_form
from tests.factories import (
    TEST_PASSWORD,
    add_key,
    add_recovery_codes,
    enable_totp,
    give_code,
    make_batch,
    make_maintainer,
    make_user,
)

SETUP = "/giveaway/setup"


def sign_in_directly(app: Flask, client, user: User) -> None:  # type: ignore[no-untyped-def]
    """Put a signed-in session in the client's cookie without the 2FA step."""
    from flask import session as cookie

    from giveaway.accounts.loader import start_session

    with app.test_request_context():
        start_session(db.session().get(User, user.id))
        data = dict(cookie)
    with client.session_transaction() as s:
        s.update(data)


def walk_for(app: Flask, user: User) -> walkthrough.Walkthrough:
    with app.app_context():
        session = db.session()
        return walkthrough.steps(session, session.get(User, user.id))


# state → (path, current step, steps done)
CASES = {
    # A maintainer who could still claim is sent to claim first (issue 13).
    "no code, not verified": (
        dict(code=False, verified=False),
        "claim",
        "verify_email",
        set(),
    ),
    "no code": (dict(code=False), "claim", "claim", {"verify_email"}),
    "no code, authenticator app": (
        dict(code=False, totp=True),
        "other",
        "recovery_codes",
        {"verify_email", "second_factor"},
    ),
    "no code, own key": (
        dict(code=False, keys=1),
        "other",
        "recovery_codes",
        {"verify_email", "second_factor"},
    ),
    "no code, app and recovery codes": (
        dict(code=False, totp=True, recovery=True),
        "other",
        None,
        {"verify_email", "second_factor", "recovery_codes"},
    ),
    "code, not verified": (dict(verified=False), "keys", "verify_email", set()),
    "code, no keys": (dict(), "keys", "redeem", {"verify_email"}),
    "code, one key": (
        dict(keys=1),
        "keys",
        "second_key",
        {"verify_email", "redeem", "first_key"},
    ),
    "code, two keys": (
        dict(keys=2),
        "keys",
        "recovery_codes",
        {"verify_email", "redeem", "first_key", "second_key"},
    ),
    "code, two keys, recovery codes": (
        dict(keys=2, recovery=True),
        "keys",
        "sign_in_with_key",
        {"verify_email", "redeem", "first_key", "second_key", "recovery_codes"},
    ),
    # Shown once but never typed back: not saved yet (as PyPI asks).
    "code, two keys, recovery codes not typed back": (
        dict(keys=2, recovery="shown"),
        "keys",
        "recovery_codes",
        {"verify_email", "redeem", "first_key", "second_key"},
    ),
    "code, two keys, recovery codes, signed in with a key": (
        dict(keys=2, recovery=True, used=True),
        "keys",
        None,
        {"verify_email", "redeem", "first_key", "second_key", "recovery_codes", "sign_in_with_key"},
    ),
    "code, one key used, recovery codes: the spare is still missing": (
        dict(keys=1, recovery=True, used=True),
        "keys",
        "second_key",
        {"verify_email", "redeem", "first_key", "recovery_codes", "sign_in_with_key"},
    ),
}


@pytest.mark.parametrize(("state", "path", "current", "done"), CASES.values(), ids=CASES.keys())
def test_steps_follow_from_state(app, state, path, current, done):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["WALK-CODE-1"])
    fields = {} if state.get("verified", True) else {"email_verified_at": None}
    user = make_maintainer(app, "maria", **fields)
    if state.get("code", True):
        give_code(app, user, "WALK-CODE-1")
    for i in range(state.get("keys", 0)):
        add_key(app, user, f"Key {i}", used=state.get("used", False) and i == 0)
    if state.get("totp"):
        enable_totp(app, user)
    if state.get("recovery"):
        add_recovery_codes(app, user, confirmed=state["recovery"] != "shown")

    walk = walk_for(app, user)

    assert walk.path == path
    assert {s.key for s in walk.steps if s.done} == done
    assert (walk.current.key if walk.current else None) == current
    assert walk.done is (current is None)
    assert [s.key for s in walk.steps if s.current] == ([current] if current else [])
    if walk.current:
        assert walk.current.status == "Your next step"
    # One thing at a time: only the current step's action is offered (the first
    # key comes with "order the keys", which the portal cannot see done).
    offered = {s.key for s in walk.steps if s.offered}
    expected = {current} if current else set()
    if current == "redeem":
        expected.add("first_key")
    assert offered == expected
    assert all(s.status == "Done" for s in walk.steps if s.done)
    assert (walk.code is not None) is (path == "keys")


def test_key_steps_wait_for_what_they_need(app):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["WALK-CODE-1"])
    user = make_maintainer(app, "maria", email_verified_at=None)
    give_code(app, user, "WALK-CODE-1")
    walk = walk_for(app, user)
    assert not walk.step("first_key").ready  # the server refuses keys before verification
    assert not walk.step("second_key").ready
    assert not walk.step("recovery_codes").ready
    assert not walk.step("sign_in_with_key").ready
    assert [s.key for s in walk.steps if s.offered] == ["verify_email"]


def test_logged_out_visitors_are_sent_to_sign_in(client):  # type: ignore[no-untyped-def]
    response = client.get(SETUP)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login?next=%2Fgiveaway%2Fsetup"


def test_page_for_a_claimant_without_keys(app, client, auth):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["WALK-CODE-1"], vendor="KeyShop")
    user = make_maintainer(app, "maria")
    give_code(app, user, "WALK-CODE-1")
    auth.login("maria")
    html = client.get(SETUP).get_data(as_text=True)
    assert "Set up your security keys" in html
    assert '<code class="promo-code" id="promo-code">WALK-CODE-1</code>' in html
    assert "data-copy-target" in html and "js/copy.js" in html
    assert "2 keys</strong> in the cart" in html
    # Status in words; the current step is marked for assistive technology.
    assert html.count('aria-current="step"') == 1
    assert 'id="step-redeem" data-step="redeem" aria-current="step"' in html
    assert html.count(">Done<") == 1 and html.count(">To do<") == 4
    # The first key can be registered right here, and the page comes back here.
    assert html.count('data-webauthn="register"') == 1
    assert 'data-next="/giveaway/setup"' in html and "Register my first key" in html
    assert '<label for="key-label">' in html and "js/webauthn.js" in html
    assert "Why two keys?" in html
    assert "0 of 6 steps done" not in html and "1 of 6 steps done." in html


def test_page_for_a_claimant_with_one_key_asks_for_the_other_key(app, client):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["WALK-CODE-1"])
    user = make_maintainer(app, "maria")
    give_code(app, user, "WALK-CODE-1")
    add_key(app, user, "First key")
    sign_in_directly(app, client, user)  # signing in would now ask for the key
    html = client.get(SETUP).get_data(as_text=True)
    assert 'id="step-second_key" data-step="second_key" aria-current="step"' in html
    assert "Register my spare key" in html and "other one" in html
    assert "Register my first key" not in html
    assert html.count('data-webauthn="register"') == 1
    # Later steps wait their turn: one action at a time.
    assert "Create my recovery codes" not in html
    assert "Sign out and sign in with a key" not in html
    assert html.count("You can do this once the steps above are done.") == 2


def test_page_for_everyone_else(app, client, auth):  # type: ignore[no-untyped-def]
    make_user(app, "ana")
    auth.login("ana")
    html = client.get(SETUP).get_data(as_text=True)
    assert "Set up two-factor authentication" in html
    assert "promo-code" not in html
    assert "Buy a security key yourself" in html and "authenticator app" in html
    assert 'href="/account/security/totp?next=/giveaway/setup"' in html
    assert "Register my security key" in html  # a key of their own works too
    assert 'id="step-second_factor" data-step="second_factor" aria-current="step"' in html
    assert "1 of 3 steps done." in html


def test_unverified_email_gets_the_resend_button_and_comes_back(app, client, auth, outbox):  # type: ignore[no-untyped-def]
    make_user(app, "ana", email_verified_at=None)
    auth.login("ana")
    html = client.get(SETUP).get_data(as_text=True)
    assert 'action="/account/verify/resend?next=/giveaway/setup"' in html
    assert "data-webauthn" not in html
    response = post_form(client, "/account/verify/resend?next=/giveaway/setup", {}, page=SETUP)
    assert response.status_code == 302 and response.headers["Location"] == SETUP
    assert len(outbox.to("ana@example.org")) == 1
    off_site = post_form(
        client, "/account/verify/resend?next=https://evil.example/", {}, page=SETUP
    )
    assert off_site.headers["Location"] == "/account/"


def test_sign_in_again_signs_out_and_comes_back(app, client, auth):  # type: ignore[no-untyped-def]
    make_user(app, "ana")
    auth.login("ana")
    refused = client.post("/giveaway/setup/sign-in-again")  # no CSRF token: still signed in
    assert refused.status_code == 303 and refused.headers["Location"] == SETUP
    assert client.get(SETUP).status_code == 200
    response = post_form(client, "/giveaway/setup/sign-in-again", {}, page="/account/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/login?next=/giveaway/setup"
    assert client.get(SETUP).status_code == 302  # signed out
    back = post_form(
        client,
        "/account/login?next=%2Fgiveaway%2Fsetup",
        {"username": "ana", "password": TEST_PASSWORD},
    )
    assert back.headers["Location"] == SETUP


def test_totp_path_comes_back_to_the_walkthrough(app, client, auth):  # type: ignore[no-untyped-def]
    make_user(app, "ana")
    auth.login("ana")
    page = client.get("/account/security/totp?next=/giveaway/setup").get_data(as_text=True)
    assert 'action="/account/security/totp?next=/giveaway/setup"' in page
    with client.session_transaction() as s:
        secret = s["twofactor.totp_pending"]
    response = post_form(
        client,
        "/account/security/totp?next=/giveaway/setup",
        {"code": pyotp.TOTP(secret).now()},
        page="/account/security/totp?next=/giveaway/setup",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/security/recovery-codes?next=/giveaway/setup"
    made = post_form(
        client,
        "/account/security/recovery-codes?next=/giveaway/setup",
        {},
        page="/account/security/recovery-codes?next=/giveaway/setup",
    )
    assert made.status_code == 200
    # Shown is not saved: the step is done once one code is typed back.
    assert 'action="/account/security/recovery-codes/confirm?next=/giveaway/setup"' in (
        made.get_data(as_text=True)
    )
    assert 'data-step="recovery_codes" aria-current="step"' in client.get(SETUP).get_data(
        as_text=True
    )
    confirmed = type_a_code_back(client, made.get_data(as_text=True))
    assert confirmed.headers["Location"] == "/giveaway/setup"
    html = client.get(SETUP).get_data(as_text=True)
    assert "Done: your account is protected" in html
    assert 'aria-current="step"' not in html


def type_a_code_back(client, new_codes_page: str):  # type: ignore[no-untyped-def]
    """Confirm the set just shown by typing its last code back."""
    import re

    code = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", new_codes_page)[-1]
    path = "/account/security/recovery-codes/confirm?next=/giveaway/setup"
    response = post_form(client, path, {"code": code}, page=path)
    assert response.status_code == 303
    return response


def test_off_site_next_is_ignored_on_the_security_pages(app, client, auth):  # type: ignore[no-untyped-def]
    make_user(app, "ana")
    auth.login("ana")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        html = client.get("/account/security/totp", query_string={"next": target}).get_data(
            as_text=True
        )
        assert "evil.example" not in html
        html = client.get(
            "/account/security/recovery-codes", query_string={"next": target}
        ).get_data(as_text=True)
        assert "evil.example" not in html


def test_the_claim_panel_and_the_account_page_link_here(app, client, auth):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["WALK-CODE-1"])
    user = make_maintainer(app, "maria")
    give_code(app, user, "WALK-CODE-1")
    auth.login("maria")
    giveaway = client.get("/giveaway").get_data(as_text=True)
    assert f'href="{SETUP}"' in giveaway and "Set up your keys, step by step" in giveaway
    assert "Key set-up: 1 of 6 steps done." in giveaway
    assert f'href="{SETUP}"' in client.get("/account/").get_data(as_text=True)


def test_reminders_skip_claimants_with_a_key(app):  # type: ignore[no-untyped-def]
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    app.config["CLOCK"] = lambda: now
    make_batch(app, codes=["R-1", "R-2", "R-3"], expires_at=now + timedelta(days=3))
    keyless = make_maintainer(app, "keyless")
    keyed = make_maintainer(app, "keyed")
    app_only = make_maintainer(app, "apponly")
    give_code(app, keyless, "R-1")
    give_code(app, keyed, "R-2")
    give_code(app, app_only, "R-3")
    add_key(app, keyed, "First key")
    enable_totp(app, app_only)  # an app is not a key: the code is still worth a reminder
    with app.app_context():
        sent = expiry.remind(db.session(), now, days=7)
        db.commit()
        reminded = set(
            db.session().scalars(
                sa.select(PromoCode.code).where(PromoCode.reminder_sent_at.is_not(None))
            )
        )
    assert sent == 2
    assert reminded == {"R-1", "R-3"}


@pytest.mark.config(
    WEBAUTHN_RP_ID="localhost",
    WEBAUTHN_ORIGIN="http://localhost",
    RATELIMIT_TWOFACTOR="1000/minute",
    RATELIMIT_LOGIN="1000/minute",
)
def test_the_whole_walkthrough_with_software_keys(app):  # type: ignore[no-untyped-def]
    from tests.twofactor.authenticator import InvalidStateError, SoftwareAuthenticator
    from tests.twofactor.conftest import Flow

    client = app.test_client()
    flow = Flow(app, client)
    make_batch(app, codes=["WALK-CODE-1"])
    user = make_maintainer(app, "maria")
    give_code(app, user, "WALK-CODE-1")
    login(client, "maria")
    first, spare = (SoftwareAuthenticator(origin="http://localhost") for _ in range(2))

    def register(auth, label):  # type: ignore[no-untyped-def]
        options = flow.post_json("/account/security/webauthn/options", {}, SETUP).get_json()
        return flow.post_json(
            "/account/security/webauthn/register",
            {"label": label, "credential": auth.create(options), "next": SETUP},
            SETUP,
        )

    def current() -> str:
        html = client.get(SETUP).get_data(as_text=True)
        import re

        found = re.search(r'data-step="(\w+)" aria-current="step"', html)
        return found.group(1) if found else "done"

    assert current() == "redeem"
    assert register(first, "First key").get_json() == {"ok": True, "redirect": SETUP}
    assert current() == "second_key"
    # The first key is excluded: an authenticator refuses to register twice.
    with pytest.raises(InvalidStateError):
        register(first, "Same again")
    assert register(spare, "Spare key").get_json() == {"ok": True, "redirect": SETUP}
    assert current() == "recovery_codes"
    made = post_form(client, "/account/security/recovery-codes?next=/giveaway/setup", {})
    assert made.status_code == 200
    assert current() == "recovery_codes"  # shown, not yet typed back
    type_a_code_back(client, made.get_data(as_text=True))
    assert current() == "sign_in_with_key"
    post_form(client, "/giveaway/setup/sign-in-again", {}, page=SETUP)
    flow.password("maria", next_url=SETUP)
    answer = flow.signin_with_key(spare)
    assert answer.get_json() == {"ok": True, "redirect": SETUP}
    assert current() == "done"
    assert "Done: your account is protected" in client.get(SETUP).get_data(as_text=True)


@pytest.mark.postgres
def test_steps_on_both_databases(any_app):  # type: ignore[no-untyped-def]
    make_batch(any_app, codes=["WALK-CODE-PG"])
    user = make_maintainer(any_app, "maria")
    give_code(any_app, user, "WALK-CODE-PG")
    assert walk_for(any_app, user).current.key == "redeem"  # type: ignore[union-attr]
    add_key(any_app, user, "First key", used=True)
    add_key(any_app, user, "Spare key")
    add_recovery_codes(any_app, user)
    walk = walk_for(any_app, user)
    assert walk.done and walk.done_count == 6 and walk.current is None
