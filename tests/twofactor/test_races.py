"""Two 2FA changes at once meet a unique row or the account's lock: a clear answer, never a 500.

The same security key registered to two accounts at the same moment, the same
key name from two tabs, and a double-submitted "new recovery codes" (which
once stored 20 valid codes while each answer showed 10).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyotp
import pytest
from sqlalchemy import func, select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.twofactor import keys, recovery, status, totp
from giveaway.twofactor.changes import TwoFactorError
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential
from tests.claims.test_races import while_held
from tests.conftest import make_user
from tests.twofactor.authenticator import SoftwareAuthenticator

NOW = datetime(2026, 3, 2, 12, 0, 15, tzinfo=UTC)


@pytest.fixture
def rp_app(any_app):  # type: ignore[no-untyped-def]
    any_app.config.update(
        WEBAUTHN_ORIGIN="http://localhost", WEBAUTHN_RP_ID="localhost", CLOCK=lambda: NOW
    )
    return any_app


def _options(app, user_id: int) -> tuple[dict, bytes]:  # type: ignore[type-arg]
    """Registration options and their challenge for one account (committed handle)."""
    with app.test_request_context():
        s = db.session()
        options, challenge = keys.registration_options(s, s.get(User, user_id))
        db.commit()
    return json.loads(options), challenge


def _add_key(app, user_id: int, label: str, answer: dict, challenge: bytes):  # type: ignore[no-untyped-def, type-arg]
    """In a request context of the calling thread: add the key and commit, or the refusal."""
    with app.test_request_context():
        s = db.session()
        try:
            key = keys.add_key(s, s.get(User, user_id), label, answer, challenge)
        except TwoFactorError as exc:
            db.rollback()
            return exc.message
        db.commit()
        return key.label


def test_one_key_registered_to_two_accounts_at_once(rp_app):
    alice = make_user(rp_app, "alice")
    bob = make_user(rp_app, "bob")
    auth = SoftwareAuthenticator("http://localhost")
    alice_options, alice_challenge = _options(rp_app, alice.id)
    bob_options, bob_challenge = _options(rp_app, bob.id)
    alice_answer = auth.create(alice_options)
    # The same authenticator's credential, answered to bob's ceremony too.
    bob_answer = auth.attest(auth.credentials[0], bob_options["challenge"])

    def alice_adds() -> str:
        s = db.session()
        return keys.add_key(
            s, s.get(User, alice.id), "Blue key", alice_answer, alice_challenge
        ).label

    def bob_adds() -> str:
        return _add_key(rp_app, bob.id, "My key", bob_answer, bob_challenge)

    first, second, _ = while_held(rp_app, alice_adds, bob_adds)
    assert first == "Blue key"
    assert "cannot be registered" in second
    with rp_app.app_context():
        owners = db.session().scalars(select(WebAuthnCredential.user_id)).all()
    assert owners == [alice.id]


def test_one_key_name_from_two_tabs(rp_app):
    alice = make_user(rp_app, "alice")
    auth = SoftwareAuthenticator("http://localhost")
    first_options, first_challenge = _options(rp_app, alice.id)
    second_options, second_challenge = _options(rp_app, alice.id)
    first_answer = auth.create(first_options)
    second_answer = auth.create(second_options)

    def first_tab() -> str:
        s = db.session()
        return keys.add_key(
            s, s.get(User, alice.id), "USB-C key", first_answer, first_challenge
        ).label

    def second_tab() -> str:
        return _add_key(rp_app, alice.id, "USB-C key", second_answer, second_challenge)

    first, second, waited = while_held(rp_app, first_tab, second_tab)
    assert first == "USB-C key"
    assert 'already have a key named "USB-C key"' in second
    assert waited
    with rp_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(WebAuthnCredential)) == 1


def test_a_double_submitted_new_set_of_recovery_codes_leaves_one_set(rp_app):
    secret = pyotp.random_base32()
    alice = make_user(rp_app, "alice", totp_secret=secret, first_2fa_enabled_at=NOW)

    def generate() -> list[str]:
        s = db.session()
        return recovery.generate_recovery_codes(s, s.get(User, alice.id))

    def generate_and_commit() -> list[str]:
        with rp_app.test_request_context():
            codes = generate()
            db.commit()
            return codes

    first, second, waited = while_held(rp_app, generate, generate_and_commit)
    assert waited, "the second request did not wait for the first"
    count = rp_app.config["RECOVERY_CODE_COUNT"]
    with rp_app.test_request_context():
        s = db.session()
        user = s.get(User, alice.id)
        assert s.scalar(select(func.count()).select_from(RecoveryCode)) == count
        assert status.recovery_codes_left(s, user) == count
        # The set shown last is the one that works; the one shown first is gone.
        assert recovery.use_recovery_code(s, user, second[0]) is True
        assert recovery.use_recovery_code(s, user, first[0]) is False
        db.commit()


def test_turning_totp_on_in_two_tabs_keeps_the_first(rp_app):
    alice = make_user(rp_app, "alice")
    first_secret, second_secret = pyotp.random_base32(), pyotp.random_base32()

    def first_tab() -> None:
        s = db.session()
        totp.enable_totp(s, s.get(User, alice.id), first_secret, pyotp.TOTP(first_secret).at(NOW))

    def second_tab() -> str:
        with rp_app.test_request_context():
            s = db.session()
            try:
                totp.enable_totp(
                    s, s.get(User, alice.id), second_secret, pyotp.TOTP(second_secret).at(NOW)
                )
            except TwoFactorError as exc:
                return exc.message
            db.commit()
            return "enabled"

    _, second, waited = while_held(rp_app, first_tab, second_tab)
    assert waited
    assert "already set up" in second
    with rp_app.app_context():
        assert db.session().get(User, alice.id).totp_secret == first_secret


def test_two_tabs_asking_for_registration_options_share_one_user_handle(rp_app):
    """A key is registered under the handle its options carried: one handle per account."""
    alice = make_user(rp_app, "alice")

    def first_tab() -> bytes:
        s = db.session()
        return keys.user_handle(s, s.get(User, alice.id))

    def second_tab() -> bytes:
        with rp_app.test_request_context():
            s = db.session()
            handle = keys.user_handle(s, s.get(User, alice.id))
            db.commit()
            return handle

    first, second, _ = while_held(rp_app, first_tab, second_tab)
    assert first == second
    with rp_app.app_context():
        assert db.session().get(User, alice.id).webauthn_user_handle == first


def test_a_double_submitted_key_removal_removes_it_once(rp_app):
    from tests.conftest import TEST_PASSWORD

    alice = make_user(rp_app, "alice")
    auth = SoftwareAuthenticator("http://localhost")
    options, challenge = _options(rp_app, alice.id)
    _add_key(rp_app, alice.id, "Blue key", auth.create(options), challenge)
    with rp_app.app_context():
        key_id = db.session().scalar(select(WebAuthnCredential.id))

    def first() -> str:
        s = db.session()
        return keys.remove_key(s, s.get(User, alice.id), key_id, TEST_PASSWORD).label

    def second() -> str:
        with rp_app.test_request_context():
            s = db.session()
            try:
                keys.remove_key(s, s.get(User, alice.id), key_id, TEST_PASSWORD)
            except TwoFactorError as exc:
                return exc.message
            db.commit()
            return "removed"

    removed, again, _ = while_held(rp_app, first, second)
    assert removed == "Blue key"
    assert "no such security key" in again
