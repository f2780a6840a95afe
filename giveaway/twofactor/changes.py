"""What every change of an account's 2FA methods shares.

Adding a method needs a verified email; removing one needs the password; the
first method ever turned on is remembered forever (User.first_2fa_enabled_at:
the giveaway's eligibility depends on it); every change is emailed to the
account; and when the last method goes, recovery codes have nothing left to
recover and go too. The feature modules (keys, totp, recovery, reset) call
these.

Turning a method on while the maintainer could still claim the giveaway's free
keys gives those keys up for good (they are for accounts that never had 2FA),
so it needs their explicit word (`require_giving_up_keys`). Whether keys are at
stake is the giveaway's rule (claims.eligibility.could_still_claim); claims
imports this package, so the app factory hands the rule over (`init_app`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext
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
            _(
                "Please verify your email address before adding two-factor authentication: "
                "if you ever lose your keys, it is how we can help you back into your account."
            )
        )


KeysAtStake = Callable[[Session, User, datetime], bool]
_KEYS_AT_STAKE = "twofactor.keys_at_stake"

GIVE_UP_KEYS_FIELD = "give_up_keys"
GIVE_UP_KEYS_MESSAGE = lazy_gettext(
    "You can still claim two free security keys, and they are only for accounts that "
    "never had two-factor authentication. Claim them first, or tick the box to confirm "
    "that you give them up."
)


def init_app(app: Flask, *, keys_at_stake: KeysAtStake) -> None:
    """Plug in the giveaway's rule: would turning on 2FA now cost the free keys?"""
    app.extensions[_KEYS_AT_STAKE] = keys_at_stake


def keys_at_stake(session: Session, user: User) -> bool:
    """True when `user` could still claim the free keys, which turning on 2FA would end."""
    rule: KeysAtStake = current_app.extensions[_KEYS_AT_STAKE]
    return rule(session, user, clock.now())


def require_giving_up_keys(session: Session, user: User, confirmed: bool) -> None:
    """Refuse to turn on a method that would cost the free keys, unless confirmed."""
    if not confirmed and keys_at_stake(session, user):
        raise TwoFactorError(str(GIVE_UP_KEYS_MESSAGE), field=GIVE_UP_KEYS_FIELD)


def check_password(user: User, password: str) -> None:
    if not passwords.verify_password(user.password_hash, password or ""):
        raise TwoFactorError(_("Your password is not correct."), field="password")


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
