"""Signed, time-limited, single-purpose links (itsdangerous).

Verification links carry the email they verify: changing the email voids them.
Password links (reset and activation) carry a fingerprint of the current
password hash: once the password is set or changed, every older link is void,
which also makes each link single-use.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from giveaway import clock
from giveaway.accounts.models import User


class Purpose(enum.StrEnum):
    VERIFY_EMAIL = "verify-email"
    RESET_PASSWORD = "reset-password"  # noqa: S105 - a purpose, not a secret
    ACTIVATE = "activate-account"


class TokenError(Exception):
    """The link is expired, forged, used, or for something else."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _ClockSigner(TimestampSigner):
    """Signs and checks ages with the portal's clock, so tests can move time."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"giveaway.{purpose}", signer=_ClockSigner
    )


def _max_age(purpose: Purpose) -> int:
    if purpose is Purpose.VERIFY_EMAIL:
        return current_app.config["EMAIL_TOKEN_MAX_AGE"]
    return current_app.config["PASSWORD_TOKEN_MAX_AGE"]


def password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "unset").encode()).hexdigest()[:16]


def make(user: User, purpose: Purpose) -> str:
    if purpose is Purpose.VERIFY_EMAIL:
        payload = {"u": user.id, "e": user.email.lower()}
    else:
        payload = {"u": user.id, "p": password_fingerprint(user)}
    return _serializer(purpose).dumps(payload)


def load(token: str, purpose: Purpose, get_user: Callable[[int], User | None]) -> User:
    """The user a valid `token` is for; raises TokenError with a reason."""
    try:
        payload = _serializer(purpose).loads(token, max_age=_max_age(purpose))
    except SignatureExpired as exc:
        raise TokenError(_("This link has expired. Ask for a new one below.")) from exc
    except BadSignature as exc:
        raise TokenError(_("This link is not valid. Check that you copied all of it.")) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise TokenError(_("This link is not valid. Check that you copied all of it."))
    user = get_user(payload["u"])
    if user is None:
        raise TokenError(_("This link is not valid. Check that you copied all of it."))
    if purpose is Purpose.VERIFY_EMAIL:
        if payload.get("e") != user.email.lower():
            raise TokenError(_("This link was for an earlier email address of your account."))
    elif payload.get("p") != password_fingerprint(user):
        raise TokenError(_("This link has already been used, or your password changed since."))
    return user
