"""Someone who ever turned on 2FA is not eligible, even after removing it.

Through the real pages: turn TOTP on at /account/security/totp, remove it with
the password, then try to claim.
"""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.claims.models import PromoCode
from tests.conftest import post_form
from tests.factories import TEST_PASSWORD, make_batch, make_maintainer


def test_removing_2fa_does_not_make_anyone_eligible_again(app, client, auth):
    make_batch(app, count=3)
    make_maintainer(app, "maria")
    auth.login("maria")

    page = client.get("/account/security/totp").get_data(as_text=True)
    secret = re.search(r"\b([A-Z2-7]{32})\b", page.replace(" ", ""))
    assert secret, "the TOTP secret is shown for manual entry"
    response = post_form(
        client,
        "/account/security/totp",
        # Maria could still claim the keys: turning TOTP on asks her to give them up.
        {"code": pyotp.TOTP(secret.group(1)).now(), "give_up_keys": "y"},
    )
    assert response.status_code in (302, 303)
    with app.app_context():
        user = db.session().scalar(select(User).where(User.username == "maria"))
        assert user.totp_secret and user.first_2fa_enabled_at is not None

    response = post_form(
        client,
        "/account/security/totp/remove",
        {"totp-password": TEST_PASSWORD},
        page="/account/security",
    )
    assert response.status_code in (302, 303)
    with app.app_context():
        user = db.session().scalar(select(User).where(User.username == "maria"))
        assert user.totp_secret is None
        assert user.first_2fa_enabled_at is not None  # kept forever

    html = client.get("/giveaway").get_data(as_text=True)
    assert "two-factor" in html.lower()
    response = post_form(client, "/giveaway/claim", {"region": "US"}, page="/giveaway")
    assert response.status_code == 403
    with app.app_context():
        assert (
            db.session().scalar(select(PromoCode).where(PromoCode.claimed_by_id.is_not(None)))
            is None
        )
