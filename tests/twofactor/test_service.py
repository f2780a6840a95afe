"""The interface other areas call: has_2fa, methods, reset_2fa and friends."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp

from giveaway import db
from giveaway.accounts.models import User
from giveaway.twofactor import keys, recovery, reset, status, totp
from tests.factories import events_of, make_user, reload_user


def test_questions_on_a_user_without_2fa(app, alice):
    with app.app_context():
        user = db.session().get(User, alice.id)
        assert status.has_2fa(user) is False
        found = status.methods(db.session(), user)
        assert not found
        assert found.names == []
        assert found.first_enabled_at is None
        assert status.key_count(db.session(), user) == 0
        assert status.has_recovery_codes(db.session(), user) is False
        assert keys.has_signed_in_with_key(db.session(), user) is False


def test_methods_and_reset(app, flow, alice, authenticator, outbox):
    flow.password("alice")
    flow.register_key(authenticator, "Key")
    admin = make_user(app, "root", is_admin=True)
    with app.app_context():
        s = db.session()
        user = s.get(User, alice.id)
        user.totp_secret = totp.new_secret()
        recovery.generate_recovery_codes(s, user)
        db.commit()
        found = status.methods(s, user)
        assert found.enabled and found.names == ["webauthn", "totp", "recovery_codes"]
        assert found.security_keys == 1 and found.recovery_codes_left == 10
        first = user.first_2fa_enabled_at
        version = user.session_version

        removed = reset.reset_2fa(s, user, s.get(User, admin.id))
        db.commit()
        assert removed.security_keys == 1 and removed.totp
        assert not status.has_2fa(user)
        assert status.methods(s, user).names == []
        assert user.first_2fa_enabled_at == first is not None
        assert user.session_version == version + 1
    [event] = events_of(app, "2fa:reset")
    assert event.actor_id == admin.id and event.user_id == alice.id
    assert any("was reset" in m["Subject"] for m in outbox.to("alice@example.org"))
    # The old session ended.
    assert flow.signed_in_as() is None
    assert reload_user(app, "alice").webauthn_user_handle is not None


def test_totp_module_single_use_window():
    secret = totp.new_secret()
    at = datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
    step = totp.time_step(at)
    now_code = pyotp.TOTP(secret).at(at)
    assert totp.code_at(secret, at) == now_code
    assert totp.matching_step(secret, now_code, at, None) == step
    assert totp.matching_step(secret, now_code, at, step) is None
    assert totp.matching_step(secret, now_code, at, step - 1) == step
    assert totp.matching_step(secret, "12 34 56", at, None) in (None, step - 1, step, step + 1)
    assert totp.matching_step(secret, "abc", at, None) is None
