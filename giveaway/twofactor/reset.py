"""Account recovery by an administrator: removing every 2FA method of an account."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from giveaway.accounts.models import User
from giveaway.events import service as events
from giveaway.twofactor import status
from giveaway.twofactor.changes import TwoFactorError, notify
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential


def reset_2fa(session: Session, user: User, actor: User | None) -> status.Methods:
    """Remove every key, TOTP and recovery code (account recovery by an admin).

    first_2fa_enabled_at stays; other sessions end. Returns what was removed.
    """
    before = status.methods(session, user)
    session.execute(delete(WebAuthnCredential).where(WebAuthnCredential.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.totp_secret = None
    user.totp_last_step = None
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    events.record(
        session,
        "2fa:reset",
        user,
        actor=actor,
        security_keys=before.security_keys,
        totp=before.totp,
        recovery_codes_left=before.recovery_codes_left,
    )
    notify(user, "twofactor_reset", removed=before)
    return before


def confirmed_reset(
    session: Session, user: User, actor: User, typed_username: str
) -> status.Methods:
    """`reset_2fa` once the admin typed the account's username; raises TwoFactorError
    (field confirm_username) for a wrong name, their own account, or nothing to remove."""
    if typed_username.strip().lower() != user.username.lower():
        raise TwoFactorError(
            f"That is not this account's username. Type {user.username} to confirm.",
            field="confirm_username",
        )
    if user.id == actor.id:
        raise TwoFactorError(
            "You cannot reset your own two-factor authentication here: another administrator "
            "has to, or manage it on your security page.",
            field="confirm_username",
        )
    if not status.methods(session, user).anything_to_remove:
        raise TwoFactorError(
            f"{user.username} has no two-factor method to remove.", field="confirm_username"
        )
    return reset_2fa(session, user, actor)
