"""The second step of a sign-in: who passed the password, until when.

Between the password and the second factor the visitor is NOT signed in. The
session holds only the user id, their session version (a password change or
2FA reset in between voids the attempt), when it began (a sign-in completed
since then spends it: a copied cookie cannot be finished again), an expiry and
where to go next.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, session
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.twofactor import status

KEY = "twofactor.pending"


@dataclass(frozen=True)
class Pending:
    user: User
    next_url: str


class Expired(Exception):
    """No pending sign-in, or it is too old: start again with the password."""


def needs_second_factor(user: User, next_url: str) -> bool:
    """After the password (or a password link): True when `user` has 2FA, and then the
    second step has begun (send them to the challenge page); False when the password
    was enough and they can be signed in."""
    if not status.has_2fa(user):
        return False
    begin(user, next_url)
    return True


def begin(user: User, next_url: str) -> None:
    # A fresh session: nothing from before the password survives (fixation).
    session.clear()
    now = clock.now().timestamp()
    expires = now + current_app.config["TWOFACTOR_PENDING_TTL"]
    session[KEY] = {
        "u": user.id,
        "v": user.session_version,
        "t": now,
        "exp": expires,
        "n": next_url,
    }


def pending_user_id() -> int | None:
    data = session.get(KEY)
    return data.get("u") if isinstance(data, dict) else None


def load(db_session: Session) -> Pending:
    data = session.get(KEY)
    if not isinstance(data, dict):
        raise Expired
    if clock.now().timestamp() > float(data.get("exp", 0)):
        session.pop(KEY, None)
        raise Expired
    user = db_session.get(User, data.get("u"))
    if user is None or user.session_version != data.get("v") or not user.is_active:
        session.pop(KEY, None)
        raise Expired
    # Single use: once anyone finished signing in as this user after this step
    # began (with this very state, or from a copy of the cookie), it is spent.
    began = data.get("t")
    if (
        user.last_login_at is not None
        and isinstance(began, int | float)
        and user.last_login_at.timestamp() > began
    ):
        session.pop(KEY, None)
        raise Expired
    return Pending(user=user, next_url=str(data.get("n") or "/"))


def cancel() -> None:
    session.pop(KEY, None)
