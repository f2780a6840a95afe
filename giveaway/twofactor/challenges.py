"""WebAuthn challenges kept in the visitor's session: single-use and short-lived.

A challenge is stored with the user it is for and an expiry, popped when the
answer comes back, and marked used in the database so that replaying an older
session cookie does not make it valid again.
"""

from __future__ import annotations

from datetime import timedelta
from hashlib import sha256

from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.orm import Session

from giveaway import clock, dialect
from giveaway.twofactor import webauthn as wa
from giveaway.twofactor.changes import TwoFactorError
from giveaway.twofactor.models import UsedChallenge

REGISTER = "register"
SIGN_IN = "signin"


def _key(purpose: str) -> str:
    return f"twofactor.challenge.{purpose}"


def store(purpose: str, challenge: bytes, user_id: int) -> None:
    expires = clock.now().timestamp() + current_app.config["WEBAUTHN_CHALLENGE_TTL"]
    session[_key(purpose)] = {"c": wa.encode(challenge), "u": user_id, "exp": expires}


def take(db_session: Session, purpose: str, user_id: int) -> bytes:
    """The challenge for `purpose`, removed from the session; raises TwoFactorError."""
    data = session.pop(_key(purpose), None)
    if not isinstance(data, dict) or data.get("u") != user_id:
        raise TwoFactorError(
            _("This request has already been answered or has expired. Please try again.")
        )
    if clock.now().timestamp() > float(data.get("exp", 0)):
        raise TwoFactorError(_("You took too long to use your security key. Please try again."))
    challenge = wa.decode(data["c"])
    if not consume_challenge(db_session, challenge):
        raise TwoFactorError(
            _("This request has already been answered or has expired. Please try again.")
        )
    return challenge


def consume_challenge(session: Session, challenge: bytes) -> bool:
    """Mark a WebAuthn challenge used; False when it was used before (a replay)."""
    now = clock.now()
    session.execute(delete(UsedChallenge).where(UsedChallenge.expires_at < now))
    values = {
        "digest": sha256(challenge).hexdigest(),
        "expires_at": now + timedelta(seconds=2 * current_app.config["WEBAUTHN_CHALLENGE_TTL"]),
    }
    return dialect.insert_if_absent(session, UsedChallenge, values)
