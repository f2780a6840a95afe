"""The 2FA rules that used to live in views, called as plain functions: the admin's
reset guards, the first set of recovery codes, and the sign-in's second step."""

from __future__ import annotations

import pytest
from flask import session as cookie_session

from giveaway import db
from giveaway.accounts.models import User
from giveaway.twofactor import recovery, reset, signin
from giveaway.twofactor.changes import TwoFactorError
from tests.conftest import TEST_PASSWORD, make_user

SECRET = "JBSWY3DPEHPK3PXP"


def test_reset_guards(app):  # type: ignore[no-untyped-def]
    admin = make_user(app, "admin", is_admin=True, totp_secret=SECRET)
    alice = make_user(app, "alice", totp_secret=SECRET)
    bob = make_user(app, "bob")
    with app.app_context():
        session = db.session()
        admin, alice, bob = (session.get(User, u.id) for u in (admin, alice, bob))
        for user, typed, says in [
            (alice, "bob", "That is not this account's username. Type alice to confirm."),
            (admin, "admin", "You cannot reset your own two-factor authentication here"),
            (bob, "BOB", "bob has no two-factor method to remove."),
        ]:
            with pytest.raises(TwoFactorError) as refused:
                reset.confirmed_reset(session, user, admin, typed)
            assert refused.value.message.startswith(says)
            assert refused.value.field == "confirm_username"
        removed = reset.confirmed_reset(session, alice, admin, "  ALICE ")
        assert removed.totp and alice.totp_secret is None
        assert alice.session_version == 1  # signed out everywhere


def test_the_first_set_of_recovery_codes_needs_no_password(app):  # type: ignore[no-untyped-def]
    alice = make_user(app, "alice", totp_secret=SECRET)
    with app.test_request_context():
        session = db.session()
        alice = session.get(User, alice.id)
        assert not recovery.password_needed(session, alice)
        first = recovery.new_set(session, alice, None)
        assert len(first) == app.config["RECOVERY_CODE_COUNT"]
        assert recovery.password_needed(session, alice)
        with pytest.raises(TwoFactorError) as missing:
            recovery.new_set(session, alice, "")
        assert missing.value.field == "password"
        assert missing.value.message == "Enter your password to replace your recovery codes."
        with pytest.raises(TwoFactorError) as wrong:
            recovery.new_set(session, alice, "not the password")
        assert wrong.value.message == "Your password is not correct."
        second = recovery.new_set(session, alice, TEST_PASSWORD)
        assert set(second).isdisjoint(first)


def test_recovery_codes_come_next_only_after_a_first_method(app):  # type: ignore[no-untyped-def]
    alice = make_user(app, "alice", totp_secret=SECRET)
    with app.test_request_context():
        session = db.session()
        alice = session.get(User, alice.id)
        assert recovery.due_after_adding(session, alice, had_2fa_before=False)
        assert not recovery.due_after_adding(session, alice, had_2fa_before=True)
        recovery.new_set(session, alice, None)
        assert not recovery.due_after_adding(session, alice, had_2fa_before=False)


def test_the_second_step_begins_only_for_accounts_with_2fa(app):  # type: ignore[no-untyped-def]
    alice = make_user(app, "alice", totp_secret=SECRET)
    bob = make_user(app, "bob")
    with app.test_request_context():
        session = db.session()
        assert not signin.needs_second_factor(session.get(User, bob.id), "/next")
        assert signin.KEY not in cookie_session
        assert signin.needs_second_factor(session.get(User, alice.id), "/next")
        assert signin.pending_user_id() == alice.id
        assert signin.load(session).next_url == "/next"
