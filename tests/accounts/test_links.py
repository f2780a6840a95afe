"""Emailed links: email verification, password reset and activation.

Every link is signed, time-limited (by the portal's clock) and good for one
purpose; password links die once used or once the password changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer

from giveaway import db
from giveaway.accounts import service, tokens
from tests.accounts.conftest import (
    NEW_PASSWORD,
    get_user,
    link_path,
    page_text,
    without_tokens,
)
from tests.conftest import login, post_form
from tests.factories import TEST_PASSWORD, events_of, make_user

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app):  # type: ignore[no-untyped-def]
    c = Clock(T0)
    app.config["CLOCK"] = c
    return c


def reset_link(client, outbox, identifier: str, address: str) -> str:  # type: ignore[no-untyped-def]
    response = post_form(client, "/account/reset", {"identifier": identifier})
    assert response.status_code == 200
    return link_path(outbox, address, "reset")


def set_password(client, path: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    return post_form(client, path, {"password": password, "password_confirm": password})


# --- email verification ------------------------------------------------------------


def test_verification_link_verifies_and_records_the_event(app, client, auth, outbox):
    auth.register("newbie")
    path = link_path(outbox, "newbie@example.org", "verify")
    response = client.get(path)
    assert response.status_code == 302
    assert get_user(app, "newbie").email_verified
    html = page_text(client.get("/account/"))
    assert "newbie@example.org is verified" in html
    assert "Verified" in html
    [event] = events_of(app, "account:email_verified")
    assert event.detail == {"email": "newbie@example.org"}
    # Opening it again is harmless and records nothing more.
    assert client.get(path).status_code == 302
    assert len(events_of(app, "account:email_verified")) == 1


def test_verification_link_works_when_signed_out(app, client, auth, outbox):
    auth.register("newbie")
    path = link_path(outbox, "newbie@example.org", "verify")
    other = app.test_client()
    response = other.get(path)
    assert response.headers["Location"] == "/account/login"
    assert get_user(app, "newbie").email_verified


def test_verification_link_expires(app, client, auth, outbox, clock):
    auth.register("newbie")
    path = link_path(outbox, "newbie@example.org", "verify")
    clock.now = T0 + timedelta(seconds=app.config["EMAIL_TOKEN_MAX_AGE"] + 1)
    response = client.get(path)
    assert response.status_code == 400
    assert "This link has expired" in page_text(response)
    assert not get_user(app, "newbie").email_verified


def test_verification_link_still_works_just_before_expiry(app, client, auth, outbox, clock):
    auth.register("newbie")
    path = link_path(outbox, "newbie@example.org", "verify")
    clock.now = T0 + timedelta(seconds=app.config["EMAIL_TOKEN_MAX_AGE"] - 5)
    assert client.get(path).status_code == 302
    assert get_user(app, "newbie").email_verified


def test_forged_and_mangled_links_are_refused(app, client, auth, outbox):
    auth.register("newbie")
    path = link_path(outbox, "newbie@example.org", "verify")
    user = get_user(app, "newbie")
    forged = URLSafeTimedSerializer("not-the-secret", salt="giveaway.verify-email").dumps(
        {"u": user.id, "e": user.email.lower()}
    )
    for bad in (path[:-3] + "xyz", "/account/verify/" + forged, "/account/verify/garbage"):
        response = client.get(bad)
        assert response.status_code == 400
        assert "This link is not valid" in page_text(response)
    assert not get_user(app, "newbie").email_verified


def test_a_link_for_one_purpose_does_not_work_for_another(app, client, outbox):
    make_user(app, "alice")
    path = reset_link(client, outbox, "alice", "alice@example.org")
    token = path.rsplit("/", 1)[1]
    assert client.get("/account/verify/" + token).status_code == 400
    assert client.get("/account/activate/" + token).status_code == 400
    assert client.get(path).status_code == 200


def test_verification_link_for_an_earlier_address_is_refused(app, client, auth, outbox):
    from giveaway.accounts.models import User

    auth.register("newbie")
    path = link_path(outbox, "newbie@example.org", "verify")
    with app.app_context():
        user = db.session().get(User, get_user(app, "newbie").id)
        user.email = "changed@example.org"
        db.session().commit()
    response = client.get(path)
    assert response.status_code == 400
    assert "earlier email address" in page_text(response)


def test_resend_verification(app, client, auth, outbox):
    auth.register("newbie")
    assert client.post("/account/verify/resend").status_code == 303  # CSRF: back, not sent
    response = post_form(client, "/account/verify/resend", {}, page="/account/")
    assert response.status_code == 302
    assert len(outbox.to("newbie@example.org")) == 2
    client.get(link_path(outbox, "newbie@example.org", "verify"))
    post_form(client, "/account/verify/resend", {}, page="/account/")
    assert len(outbox.to("newbie@example.org")) == 2  # already verified: nothing sent


# --- password reset ------------------------------------------------------------------


@pytest.mark.parametrize("identifier", ["alice", "ALICE", "alice@example.org", "Alice@Example.ORG"])
def test_reset_by_username_or_email(app, client, outbox, identifier):
    make_user(app, "alice")
    path = reset_link(client, outbox, identifier, "alice@example.org")
    page = client.get(path)
    assert page.status_code == 200
    assert "alice" in page_text(page)
    response = set_password(client, path)
    assert response.status_code == 302
    assert "Your password is set and you are signed in" in page_text(client.get("/account/"))
    assert len(events_of(app, "password:reset")) == 1
    [changed] = [m for m in outbox.to("alice@example.org") if "changed" in m["Subject"]]
    assert changed
    # The new password works, the old one does not.
    assert login(app.test_client(), "alice", NEW_PASSWORD).status_code == 302
    assert login(app.test_client(), "alice", TEST_PASSWORD).status_code == 401


def test_reset_for_unknown_account_says_the_same_and_sends_nothing(app, client, outbox):
    make_user(app, "alice")
    # The same page but for each request's own form token (the footer's language menu).
    known = without_tokens(page_text(post_form(client, "/account/reset", {"identifier": "alice"})))
    unknown = without_tokens(
        page_text(post_form(client, "/account/reset", {"identifier": "nobody"}))
    )
    assert "Check your email" in known
    assert known == unknown
    assert len(outbox) == 1


def test_reset_link_dies_after_use(app, client, outbox):
    make_user(app, "alice")
    path = reset_link(client, outbox, "alice", "alice@example.org")
    assert set_password(client, path).status_code == 302
    again = app.test_client()
    response = again.get(path)
    assert response.status_code == 400
    assert "already been used" in page_text(response)
    assert login(again, "alice", NEW_PASSWORD).status_code == 302


def test_reset_link_post_after_use_changes_nothing(app, client, outbox):
    from tests.accounts.conftest import csrf_from

    make_user(app, "alice")
    path = reset_link(client, outbox, "alice", "alice@example.org")
    other = app.test_client()
    token = csrf_from(page_text(other.get(path)))
    assert set_password(client, path).status_code == 302
    response = other.post(
        path,
        data={
            "csrf_token": token,
            "password": "attacker-passphrase-1",
            "password_confirm": "attacker-passphrase-1",
        },
    )
    assert response.status_code == 400
    assert login(app.test_client(), "alice", NEW_PASSWORD).status_code == 302


def test_reset_link_dies_after_a_password_change(app, client, auth, outbox):
    make_user(app, "alice")
    path = reset_link(client, outbox, "alice", "alice@example.org")
    auth.login("alice")
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
        page="/account/",
    )
    assert response.status_code == 302
    assert len(events_of(app, "password:changed")) == 1
    response = app.test_client().get(path)
    assert response.status_code == 400
    assert "your password changed" in page_text(response)


def test_reset_link_expires(app, client, outbox, clock):
    make_user(app, "alice")
    path = reset_link(client, outbox, "alice", "alice@example.org")
    clock.now = T0 + timedelta(seconds=app.config["PASSWORD_TOKEN_MAX_AGE"] + 1)
    response = client.get(path)
    assert response.status_code == 400
    assert "This link has expired" in page_text(response)
    response = post_form(
        client,
        path,
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        page="/account/reset",
    )
    assert response.status_code == 400
    assert login(app.test_client(), "alice").status_code == 302


def test_reset_form_rules(app, client, outbox):
    make_user(app, "alice")
    path = reset_link(client, outbox, "alice", "alice@example.org")
    response = set_password(client, path, "short")
    assert response.status_code == 400
    assert "Use at least 10 characters." in page_text(response)
    response = post_form(client, path, {"password": NEW_PASSWORD, "password_confirm": "x"})
    assert response.status_code == 400
    assert "The two passwords do not match." in page_text(response)
    refused = client.post(path, data={"password": NEW_PASSWORD})  # no CSRF token
    assert refused.status_code == 303 and refused.headers["Location"] == path
    assert client.get(path).status_code == 200  # the link still works


def test_password_change_signs_out_other_sessions_but_not_this_one(app, outbox):
    make_user(app, "alice")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "alice")
    login(elsewhere, "alice")
    post_form(
        here,
        "/account/password",
        {
            "current_password": TEST_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
        page="/account/",
    )
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302


def test_password_change_needs_the_current_password(app, client, auth):
    make_user(app, "alice")
    auth.login("alice")
    response = post_form(
        client,
        "/account/password",
        {
            "current_password": "not-my-password",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
        page="/account/",
    )
    assert response.status_code == 400
    assert "Your current password is not correct." in page_text(response)
    assert events_of(app, "password:changed") == []


# --- activation of imported accounts ----------------------------------------------


def test_imported_account_is_activated_by_emailed_link(app, runner, outbox, tmp_path):
    csv = tmp_path / "roles.csv"
    csv.write_text("project,username,email,role\nRequests_Toolbelt,Nina,nina@example.org,Owner\n")
    result = runner.invoke(args=["import-roles", str(csv)])
    assert result.exit_code == 0, result.output
    user = get_user(app, "nina")
    assert user.password_hash is None
    assert not user.email_verified
    [message] = outbox.to("nina@example.org")
    assert "activate" in message["Subject"].lower() or "account" in message["Subject"].lower()
    path = link_path(outbox, "nina@example.org", "activate")

    client = app.test_client()
    assert login(client, "Nina").status_code == 401  # no password yet
    page = client.get(path)
    assert page.status_code == 200
    assert "Nina" in page_text(page)
    response = set_password(client, path)
    assert response.status_code == 302
    html = page_text(client.get("/account/"))
    assert "Nina" in html and "Verified" in html
    user = get_user(app, "nina")
    assert user.email_verified and user.password_hash
    assert len(events_of(app, "account:activated")) == 1
    assert len(events_of(app, "account:email_verified")) == 1
    [success] = events_of(app, "login:success")
    assert success.detail == {"method": "account:activated"}
    # Used once: the link is dead now.
    assert app.test_client().get(path).status_code == 400
    assert login(app.test_client(), "nina", NEW_PASSWORD).status_code == 302


def test_reset_request_for_an_account_without_password_sends_activation(app, client, outbox):
    make_user(app, "otto", password=None, email_verified_at=None)
    post_form(client, "/account/reset", {"identifier": "otto@example.org"})
    path = link_path(outbox, "otto@example.org", "activate")
    assert set_password(client, path).status_code == 302
    assert get_user(app, "otto").email_verified


def test_activation_link_expires(app, client, outbox, clock):
    make_user(app, "otto", password=None, email_verified_at=None)
    with app.test_request_context():
        service.send_activation(get_user(app, "otto"))
        db.commit()
    path = link_path(outbox, "otto@example.org", "activate")
    clock.now = T0 + timedelta(seconds=app.config["PASSWORD_TOKEN_MAX_AGE"] + 60)
    assert client.get(path).status_code == 400
    assert get_user(app, "otto").password_hash is None


def test_tokens_name_their_reason(app):
    user = make_user(app, "alice")
    with app.test_request_context():
        token = tokens.make(user, tokens.Purpose.RESET_PASSWORD)
        with pytest.raises(tokens.TokenError, match="not valid"):
            tokens.load(token, tokens.Purpose.VERIFY_EMAIL, lambda ident: user)
        with pytest.raises(tokens.TokenError, match="not valid"):
            tokens.load(token, tokens.Purpose.RESET_PASSWORD, lambda ident: None)
        assert tokens.load(token, tokens.Purpose.RESET_PASSWORD, lambda ident: user) is user
