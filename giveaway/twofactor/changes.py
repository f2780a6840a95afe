"""What every change of an account's 2FA methods shares.

Adding a method needs a verified email; removing one needs the password; the
first method ever turned on is remembered forever (User.first_2fa_enabled_at:
the giveaway's eligibility depends on it); every change is emailed to the
account; and when the last method goes, recovery codes have nothing left to
recover and go too. The feature modules (keys, totp, recovery, reset) call
these.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from giveaway import clock, mail
from giveaway.accounts import passwords
from giveaway.accounts.models import User
from giveaway.twofactor import status
from giveaway.twofactor.models import RecoveryCode


class TwoFactorError(Exception):
    """A rule said no; `message` is for the person, `field` names the form field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def require_verified_email(user: User) -> None:
    if not user.email_verified:
        raise TwoFactorError(
            "Please verify your email address before adding two-factor authentication: "
            "if you ever lose your keys, it is how we can help you back into your account."
        )


def check_password(user: User, password: str) -> None:
    if not passwords.verify_password(user.password_hash, password or ""):
        raise TwoFactorError("Your password is not correct.", field="password")


def mark_enabled(user: User) -> None:
    """A method was just turned on: remember the first time, forever."""
    if user.first_2fa_enabled_at is None:
        user.first_2fa_enabled_at = clock.now()


def notify(user: User, template: str, **context: Any) -> None:
    mail.send(user.email, template, user=user, **context)


def after_removal(session: Session, user: User) -> bool:
    """When no method is left, recovery codes have nothing to recover: drop them.

    True when that happened (the email says so)."""
    if status.has_totp(user) or status.key_count(session, user):
        return False
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return True
