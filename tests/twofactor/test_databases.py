"""Single-use rules on both databases: challenges, TOTP steps, recovery codes, sign counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest

from giveaway import db
from giveaway.accounts.models import User
from giveaway.twofactor import challenges, changes, keys, recovery, status, totp
from tests.factories import make_user

NOW = datetime(2026, 3, 2, 12, 0, 15, tzinfo=UTC)


@pytest.fixture
def ready(any_app):  # type: ignore[no-untyped-def]
    any_app.config["CLOCK"] = lambda: NOW
    return any_app, make_user(any_app, "alice")


def test_challenge_is_consumed_once(ready):
    app, _ = ready
    with app.test_request_context():
        s = db.session()
        assert challenges.consume_challenge(s, b"c" * 32) is True
        assert challenges.consume_challenge(s, b"c" * 32) is False
        assert challenges.consume_challenge(s, b"d" * 32) is True
        db.commit()
    with app.test_request_context():
        assert challenges.consume_challenge(db.session(), b"c" * 32) is False


def test_totp_step_and_recovery_codes_are_single_use(ready):
    app, alice = ready
    secret = totp.new_secret()
    with app.test_request_context():
        s = db.session()
        user = s.get(User, alice.id)
        totp.enable_totp(s, user, secret, pyotp.TOTP(secret).at(NOW))
        codes = recovery.generate_recovery_codes(s, user)
        db.commit()
    with app.test_request_context():
        s = db.session()
        user = s.get(User, alice.id)
        later = pyotp.TOTP(secret).at(NOW.timestamp() + 30)
        assert totp.verify_totp(s, user, later) is True
        assert totp.verify_totp(s, user, later) is False
        assert recovery.use_recovery_code(s, user, codes[0]) is True
        assert recovery.use_recovery_code(s, user, codes[0]) is False
        assert status.recovery_codes_left(s, user) == 9
        db.commit()
        methods = status.methods(s, user)
        assert methods.names == ["totp", "recovery_codes"]
        assert user.first_2fa_enabled_at == NOW


def test_key_sign_in_and_counter_regression(ready):
    import json

    from tests.twofactor.authenticator import SoftwareAuthenticator

    app, alice = ready
    app.config.update(WEBAUTHN_ORIGIN="http://localhost", WEBAUTHN_RP_ID="localhost")
    auth = SoftwareAuthenticator("http://localhost")
    with app.test_request_context():
        s = db.session()
        user = s.get(User, alice.id)
        options, challenge = keys.registration_options(s, user)
        keys.add_key(s, user, "Key", auth.create(json.loads(options)), challenge)
        db.commit()
    for expected_ok, count in ((True, None), (True, None), (False, 1)):
        with app.test_request_context():
            s = db.session()
            user = s.get(User, alice.id)
            options, challenge = keys.authentication_options(s, user)
            answer = auth.get(json.loads(options), sign_count=count)
            if expected_ok:
                key = keys.verify_key_signin(s, user, answer, challenge)
                assert key.last_used_at == NOW
            else:
                with pytest.raises(changes.TwoFactorError, match="backwards"):
                    keys.verify_key_signin(s, user, answer, challenge)
            db.commit()
    with app.test_request_context():
        s = db.session()
        user = s.get(User, alice.id)
        [key] = keys.registered(s, user)
        assert key.sign_count == 2
        assert keys.has_signed_in_with_key(s, user)
