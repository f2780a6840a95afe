"""The user page, account recovery (2FA reset) and the users CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.events.models import Event
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential
from tests.conftest import post_form
from tests.factories import (
    add_keys,
    add_recovery_codes,
    claim_for,
    make_admin,
    make_batch,
    make_project,
    make_user,
)

FIRST = datetime(2025, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def admin_client(app, client, auth):  # type: ignore[no-untyped-def]
    make_admin(app, "root")
    assert auth.login_with_totp("root").status_code == 302
    return client


@pytest.fixture
def locked_out(app):  # type: ignore[no-untyped-def]
    """A maintainer who lost their keys: TOTP, two keys, recovery codes."""
    user = make_user(
        app, "lost", totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", first_2fa_enabled_at=FIRST
    )
    add_keys(app, user, 2)
    add_recovery_codes(app, user, 4)
    make_project(app, "Big-Lib", maintainers=[(user, "Owner")], critical=True)
    batch = make_batch(app, codes=["SECRET-CODE-1234"])
    claim_for(app, batch, user, FIRST)
    return user


def _state(app, user_id):  # type: ignore[no-untyped-def]
    with app.app_context():
        session = db.session()
        user = session.get(User, user_id)
        return {
            "totp": user.totp_secret,
            "first": user.first_2fa_enabled_at,
            "keys": session.scalar(
                select(func.count()).where(WebAuthnCredential.user_id == user_id)
            ),
            "codes": session.scalar(select(func.count()).where(RecoveryCode.user_id == user_id)),
            "resets": session.scalar(select(func.count()).where(Event.kind == "2fa:reset")),
        }


def test_user_page_shows_methods_projects_and_a_masked_claim(app, admin_client, locked_out):
    html = admin_client.get(f"/admin/users/{locked_out.id}").get_data(as_text=True)
    assert "Big-Lib" in html and "Critical projects: Big-Lib." in html
    assert "<dt>Security keys</dt><dd>2</dd>" in html
    assert "<dt>Recovery codes left</dt><dd>4</dd>" in html
    assert "SECRET-CODE-1234" not in html and "SE…34" in html
    assert 'name="confirm_username"' in html and "Type the username to confirm" in html


@pytest.mark.parametrize("typed", ["", "someone", "los", "lost2"])
def test_reset_needs_the_username(app, admin_client, locked_out, outbox, typed):
    path = f"/admin/users/{locked_out.id}/reset-2fa"
    before = _state(app, locked_out.id)
    response = post_form(
        admin_client, path, {"confirm_username": typed}, page=f"/admin/users/{locked_out.id}"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Type the account&#39;s username" in html or "not this account&#39;s username" in html
    assert _state(app, locked_out.id) == before
    assert len(outbox) == 0


def test_reset_removes_every_method_and_keeps_the_history(app, admin_client, locked_out, outbox):
    path = f"/admin/users/{locked_out.id}/reset-2fa"
    response = post_form(
        admin_client, path, {"confirm_username": " LOST "}, page=f"/admin/users/{locked_out.id}"
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/users/{locked_out.id}")
    after = _state(app, locked_out.id)
    assert after == {"totp": None, "first": FIRST, "keys": 0, "codes": 0, "resets": 1}
    with app.app_context():
        event = db.session().scalar(select(Event).where(Event.kind == "2fa:reset"))
        assert event.user_id == locked_out.id and event.actor.username == "root"
        assert event.detail["security_keys"] == 2 and event.detail["totp"] is True
    [message] = outbox.to("lost@example.org")
    assert "administrator" in outbox.text(message)
    html = admin_client.get(f"/admin/users/{locked_out.id}").get_data(as_text=True)
    assert "Two-factor authentication of lost is reset" in html
    assert "2025-02-03 04:05 UTC" in html  # ever had 2FA: still shown


def test_reset_of_someone_without_2fa_is_refused(app, admin_client):
    plain = make_user(app, "plain")
    response = post_form(
        admin_client,
        f"/admin/users/{plain.id}/reset-2fa",
        {"confirm_username": "plain"},
        page="/account/",
    )
    assert response.status_code == 400
    assert "has no two-factor method" in response.get_data(as_text=True)


def test_admins_cannot_reset_themselves(app, admin_client):
    with app.app_context():
        root_id = db.session().scalar(select(User.id).where(User.username == "root"))
    response = post_form(
        admin_client,
        f"/admin/users/{root_id}/reset-2fa",
        {"confirm_username": "root"},
        page="/account/",
    )
    assert response.status_code == 400
    assert _state(app, root_id)["totp"]


def test_reset_of_an_unknown_user_is_404(admin_client):
    response = post_form(
        admin_client, "/admin/users/99999/reset-2fa", {"confirm_username": "x"}, page="/account/"
    )
    assert response.status_code == 404


def test_users_csv_is_formula_safe_and_recorded(app, admin_client):
    make_user(app, "carol", email="@carol@example.org")
    make_user(app, "dave")
    response = admin_client.get("/admin/users?q=carol&format=csv")
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "username,email,email_verified_at,is_admin,first_2fa_enabled_at,created_at"
    assert len(lines) == 2 and lines[1].startswith("carol,'@carol@example.org,")
    with app.app_context():
        event = db.session().scalar(select(Event).where(Event.kind == "admin:exported"))
        assert event.detail == {"what": "users", "rows": 1} and event.actor.username == "root"
    assert "Download CSV" in admin_client.get("/admin/users?q=carol").get_data(as_text=True)
