"""Retention and account deletion: a maintainer's history, deleting an account, old addresses."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims.models import PromoCode
from giveaway.events.models import Event
from tests.conftest import (
    Outbox,
    login,
    login_2fa,
    make_user,
    post_form,
)
from tests.factories import make_admin, make_batch, make_maintainer
from tests.ops.conftest import scrape, value


def claim(client, region: str = "CA"):  # type: ignore[no-untyped-def]
    return post_form(client, "/giveaway/claim", {"region": region}, page="/giveaway")


def test_a_maintainer_sees_their_own_security_history(app: Flask):
    make_batch(app, "launch", count=2)
    make_maintainer(app, "erin")
    make_maintainer(app, "other")
    client = app.test_client()
    login(client, "erin", "not-my-password-at-all")
    login(client, "erin")
    claim(client)
    login(app.test_client(), "other")
    page = client.get("/account/history")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Signed in" in html and "Sign-in refused: wrong password" in html
    assert "Promo code claimed" in html
    assert "127.0.0.1" in html  # their own addresses, while they are kept
    # Only theirs: one successful sign-in (other's is not there).
    assert html.count("Signed in") == 1
    # The region answer is nowhere, not even in their own history.
    assert "Canada" not in html and ">CA<" not in html
    assert client.get("/account/").get_data(as_text=True).count("/account/history") == 1


def test_deleting_an_account_keeps_the_code_counted_but_not_tied_to_them(any_ops_app: Flask):
    app = any_ops_app
    make_batch(app, "launch", count=3)
    erin = make_maintainer(app, "erin")
    client = app.test_client()
    login(client, "erin")
    assert claim(client).status_code == 303
    outbox = Outbox(app)
    outbox.clear()
    before = scrape(app.test_client())
    # The wrong password, or no tick, deletes nothing.
    wrong = post_form(
        client, "/account/delete", {"password": "not-the-password", "understood": "y"}
    )
    assert wrong.status_code == 400 and "not your password" in wrong.get_data(as_text=True)
    unticked = post_form(client, "/account/delete", {"password": "a-long-test-passphrase"})
    assert unticked.status_code == 400
    done = post_form(
        client, "/account/delete", {"password": "a-long-test-passphrase", "understood": "y"}
    )
    assert done.status_code == 303
    # Signed out, and the old password opens nothing any more.
    assert client.get("/account/").status_code == 302
    assert login(app.test_client(), "erin").status_code == 401
    with app.app_context():
        session = db.session()
        row = session.get(User, erin.id)
        assert row is not None
        assert row.username == f"deleted:{erin.id}" and "erin" not in row.email
        assert row.password_hash is None and row.totp_secret is None and not row.is_admin
        code = session.scalar(sa.select(PromoCode).where(PromoCode.claimed_by_id == erin.id))
        assert code is not None  # still handed out: the pool does not get it back
        addresses = session.scalars(
            sa.select(Event.ip_address).where(Event.user_id == erin.id)
        ).all()
        assert addresses and all(a is None for a in addresses)
        kinds = set(session.scalars(sa.select(Event.kind).where(Event.user_id == erin.id)))
        assert {"claim:claimed", "account:deleted"} <= kinds
    after = scrape(app.test_client())
    assert value(after, "giveaway_codes_available", batch="launch") == value(
        before, "giveaway_codes_available", batch="launch"
    )
    [confirmation] = outbox.to("erin@example.org")
    assert "deleted" in str(confirmation["Subject"]).lower()
    assert "no longer linked to you" in Outbox.text(confirmation)
    # The admin's claims list shows the code without a name.
    make_admin(app, "root")
    admin = app.test_client()
    login_2fa(admin, "root")
    claims_page = admin.get("/admin/claims").get_data(as_text=True)
    assert f"deleted:{erin.id}" in claims_page and ">erin<" not in claims_page


def test_an_administrator_deletes_an_account_on_request(app: Flask):
    make_admin(app, "root")
    target = make_user(app, "gail")
    admin = app.test_client()
    login_2fa(admin, "root")
    page = admin.get(f"/admin/users/{target.id}/delete")
    assert page.status_code == 200
    assert f"/admin/users/{target.id}/delete" in admin.get(f"/admin/users/{target.id}").get_data(
        as_text=True
    )
    mistyped = post_form(
        admin,
        f"/admin/users/{target.id}/delete",
        {"confirm_username": "gil"},
        page=f"/admin/users/{target.id}/delete",
    )
    assert mistyped.status_code == 400
    done = post_form(
        admin,
        f"/admin/users/{target.id}/delete",
        {"confirm_username": "gail"},
        page=f"/admin/users/{target.id}/delete",
    )
    assert done.status_code == 303
    with app.app_context():
        session = db.session()
        assert session.get(User, target.id).username == f"deleted:{target.id}"  # type: ignore[union-attr]
        event = session.scalar(sa.select(Event).where(Event.kind == "account:deleted"))
        assert event is not None and event.actor_id is not None
    [mail] = Outbox(app).to("gail@example.org")
    assert "administrator" in Outbox.text(mail)
    # The admin cannot delete themselves here, nor delete twice.
    with app.app_context():
        root_id = db.session().scalar(sa.select(User.id).where(User.username == "root"))
    own = post_form(
        admin,
        f"/admin/users/{root_id}/delete",
        {"confirm_username": "root"},
        page=f"/admin/users/{root_id}/delete",
    )
    assert own.status_code == 400


def test_old_addresses_are_forgotten_by_the_retention_job(app: Flask):
    user = make_user(app, "hana")
    with app.app_context():
        session = db.session()
        now = clock.now()
        for days, address in ((200, "198.51.100.7"), (91, "198.51.100.8"), (5, "198.51.100.9")):
            session.add(
                Event(
                    kind="login:success",
                    user_id=user.id,
                    ip_address=address,
                    detail={},
                    created_at=now - timedelta(days=days),
                )
            )
        session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["forget-addresses"])
    assert result.exit_code == 0, result.output
    assert "2 events older than 90 days" in result.output
    with app.app_context():
        kept = set(db.session().scalars(sa.select(Event.ip_address)))
    assert kept == {None, "198.51.100.9"}
    again = runner.invoke(args=["forget-addresses", "--days", "1"])
    assert "1 events older than 1 days" in again.output
    assert runner.invoke(args=["forget-addresses", "--days", "0"]).exit_code != 0
