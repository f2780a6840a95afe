"""One password link used twice at the same moment sets the password once."""

from __future__ import annotations

from giveaway import db
from giveaway.accounts import service, tokens
from giveaway.accounts.models import User
from tests.accounts.conftest import page_text
from tests.claims.test_races import while_held
from tests.conftest import make_user, post_form


def test_a_reset_link_used_twice_at_once_works_once(any_app):
    alice = make_user(any_app, "alice")
    with any_app.test_request_context():
        token = tokens.make(db.session().get(User, alice.id), tokens.Purpose.RESET_PASSWORD)
    path = f"/account/reset/{token}"
    client = any_app.test_client()
    page = client.get(path)
    assert page.status_code == 200

    def first_use() -> None:
        s = db.session()
        user = service.load_password_token(s, token, tokens.Purpose.RESET_PASSWORD)
        service.set_password(s, user, "first-new-passphrase", kind="password:reset")

    def second_use():  # type: ignore[no-untyped-def]
        return post_form(
            client,
            path,
            {"password": "second-new-passphrase", "password_confirm": "second-new-passphrase"},
        )

    _, response, _ = while_held(any_app, first_use, second_use)
    assert response.status_code == 400
    assert "already been used" in page_text(response)
    from giveaway.accounts import passwords

    with any_app.app_context():
        stored = db.session().get(User, alice.id).password_hash
    assert passwords.verify_password(stored, "first-new-passphrase")
