"""Has 2FA now / ever had 2FA: the SQL forms select exactly the users the Python forms
accept, on SQLite and PostgreSQL, over accounts in every 2FA state."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from giveaway import db
from giveaway.accounts.models import User
from giveaway.twofactor import status
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential
from tests.conftest import make_user

WHEN = datetime(2025, 6, 1, tzinfo=UTC)

# username: (totp_secret, keys, recovery codes, first_2fa_enabled_at)
ACCOUNTS = {
    "nothing": (None, 0, 0, None),
    "empty-secret": ("", 0, 0, None),
    "totp": ("JBSWY3DPEHPK3PXP", 0, 0, WHEN),
    "one-key": (None, 1, 0, WHEN),
    "two-keys": (None, 2, 3, WHEN),
    "totp-and-key": ("JBSWY3DPEHPK3PXP", 1, 3, WHEN),
    "recovery-only": (None, 0, 3, WHEN),
    "removed-it-all": (None, 0, 0, WHEN),
    # Never recorded (an account from before the column): the secret still counts.
    "totp-unrecorded": ("JBSWY3DPEHPK3PXP", 0, 0, None),
}

FORMS = {
    "has_totp": (status.has_totp, status.has_totp_sql),
    "has_2fa": (status.has_2fa, status.has_2fa_sql),
    "ever_had_2fa": (status.ever_had_2fa, status.ever_had_2fa_sql),
    "has_key": (
        lambda user: status.key_count(db.session(), user) > 0,
        status.has_key_sql,
    ),
}


def _world(app) -> None:  # type: ignore[no-untyped-def]
    for name, (secret, keys, recovery, first) in ACCOUNTS.items():
        user = make_user(app, name, totp_secret=secret, first_2fa_enabled_at=first)
        with app.app_context():
            session = db.session()
            for i in range(keys):
                session.add(
                    WebAuthnCredential(
                        user_id=user.id,
                        credential_id=secrets.token_bytes(16),
                        public_key=b"k",
                        label=f"key {i}",
                        created_at=WHEN,
                    )
                )
            for i in range(recovery):
                session.add(
                    RecoveryCode(user_id=user.id, code_hash=f"h-{name}-{i}", created_at=WHEN)
                )
            session.commit()


@pytest.mark.parametrize("form", sorted(FORMS))
def test_sql_and_python_forms_agree(any_app, form):  # type: ignore[no-untyped-def]
    _world(any_app)
    python_form, sql_form = FORMS[form]
    with any_app.app_context():
        session = db.session()
        by_sql = set(session.scalars(select(User.username).where(sql_form())))
        by_python = {u.username for u in session.scalars(select(User)) if python_form(u)}
    assert by_sql == by_python
    assert by_sql and by_sql != set(ACCOUNTS)


def test_what_each_form_means(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        now = set(session.scalars(select(User.username).where(status.has_2fa_sql())))
        ever = set(session.scalars(select(User.username).where(status.ever_had_2fa_sql())))
    # Recovery codes alone are no second factor; removing everything is not forgotten.
    assert now == {"totp", "one-key", "two-keys", "totp-and-key", "totp-unrecorded"}
    assert ever == now | {"recovery-only", "removed-it-all"}


def test_methods_say_what_a_reset_would_remove(any_app):  # type: ignore[no-untyped-def]
    _world(any_app)
    with any_app.app_context():
        session = db.session()
        found = {u.username: status.methods(session, u) for u in session.scalars(select(User))}
    assert not found["nothing"].anything_to_remove
    assert not found["removed-it-all"].anything_to_remove
    assert found["recovery-only"].anything_to_remove and not found["recovery-only"].enabled
    assert found["two-keys"].names == ["webauthn", "recovery_codes"]


def test_recovery_codes_count_as_saved_once_one_was_typed_back(any_app):  # type: ignore[no-untyped-def]
    """The walkthrough's "saved" (read with the account by the loader's facts) is the
    same rule as status.recovery_codes_saved: unused codes of a confirmed set."""
    from giveaway.claims import facts

    states = {"shown-only": (None, None), "confirmed": (WHEN, None), "all-used": (WHEN, WHEN)}
    for name, (confirmed, used) in states.items():
        user = make_user(any_app, name)
        with any_app.app_context():
            session = db.session()
            session.add(
                RecoveryCode(
                    user_id=user.id,
                    code_hash=f"h-{name}",
                    created_at=WHEN,
                    confirmed_at=confirmed,
                    used_at=used,
                )
            )
            session.commit()
    with any_app.app_context():
        session = db.session()
        for name in states:
            user = session.scalar(select(User).where(User.username == name))
            saved = status.recovery_codes_saved(session, user)
            assert saved is (name == "confirmed"), name
            assert facts.of(session, user).recovery_codes_saved is saved, name
