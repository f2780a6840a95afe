"""Has an account 2FA now, and did it ever have it?

"Has 2FA" means signing in asks for a second factor: a security key or an
authenticator app (recovery codes alone do not count). "Ever had 2FA" is
what the giveaway's eligibility asks: User.first_2fa_enabled_at is set the
first time any method is turned on and never cleared, so removing 2FA does
not make anyone eligible again.

Each question is written once in Python (on a loaded user) and once in SQL
(an expression over User that queries compose: the dashboard, the mandate,
the compliance list, the eligibility criteria); tests/twofactor/test_status.py
holds the two forms to the same answer on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session, object_session

from giveaway import db
from giveaway.accounts.models import User
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential


@dataclass(frozen=True)
class Methods:
    """The 2FA methods an account has now."""

    security_keys: int
    totp: bool
    recovery_codes_left: int
    first_enabled_at: datetime | None

    @property
    def enabled(self) -> bool:
        """True when sign-in asks for a second factor (recovery codes alone do not count)."""
        return self.security_keys > 0 or self.totp

    @property
    def anything_to_remove(self) -> bool:
        """A method or unused recovery codes: what an admin's reset would take away."""
        return self.enabled or self.recovery_codes_left > 0

    @property
    def names(self) -> list[str]:
        found = []
        if self.security_keys:
            found.append("webauthn")
        if self.totp:
            found.append("totp")
        if self.recovery_codes_left:
            found.append("recovery_codes")
        return found

    def __bool__(self) -> bool:
        return self.enabled


# --- Python: on a loaded user -----------------------------------------------------


def _session_of(user: User) -> Session:
    return object_session(user) or db.session()


def has_totp(user: User) -> bool:
    return bool(user.totp_secret)


def key_count(session: Session, user: User) -> int:
    return session.scalar(select(key_count_sql(user.id))) or 0


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(select(recovery_codes_left_sql(user.id))) or 0


def has_recovery_codes(session: Session, user: User) -> bool:
    return recovery_codes_left(session, user) > 0


def recovery_codes_saved(session: Session, user: User) -> bool:
    """True when unused codes are left and one of their set was typed back (it was saved)."""
    return bool(session.scalar(select(recovery_codes_saved_sql(user.id))))


def has_2fa(user: User) -> bool:
    """True when signing in as `user` needs a second factor now."""
    if has_totp(user):
        return True
    return key_count(_session_of(user), user) > 0


def ever_had_2fa(user: User) -> bool:
    """True when `user` has, or ever had, a second factor (it is never forgotten)."""
    return user.first_2fa_enabled_at is not None or has_totp(user)


def methods(session: Session, user: User) -> Methods:
    return Methods(
        security_keys=key_count(session, user),
        totp=has_totp(user),
        recovery_codes_left=recovery_codes_left(session, user),
        first_enabled_at=user.first_2fa_enabled_at,
    )


# --- SQL: expressions over User ----------------------------------------------------


def has_totp_sql() -> ColumnElement[bool]:
    return func.coalesce(User.totp_secret, "") != ""


def has_key_sql(user_id: Any = None) -> ColumnElement[bool]:
    """The user (User.id, or the given id or column) has a security key."""
    owner = User.id if user_id is None else user_id
    return exists().where(WebAuthnCredential.user_id == owner)


def key_count_sql(user_id: Any = None) -> ColumnElement[int]:
    """How many security keys the user (User.id, or the given id or column) has."""
    owner = User.id if user_id is None else user_id
    return (
        select(func.count())
        .select_from(WebAuthnCredential)
        .where(WebAuthnCredential.user_id == owner)
        .scalar_subquery()
    )


def recovery_codes_left_sql(user_id: Any = None) -> ColumnElement[int]:
    """How many unused recovery codes the user (User.id, or the given id or column) has."""
    owner = User.id if user_id is None else user_id
    return (
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == owner, RecoveryCode.used_at.is_(None))
        .scalar_subquery()
    )


def recovery_codes_saved_sql(user_id: Any = None) -> ColumnElement[bool]:
    """`recovery_codes_saved` for the user (User.id, or the given id or column)."""
    owner = User.id if user_id is None else user_id
    return exists().where(
        RecoveryCode.user_id == owner,
        RecoveryCode.used_at.is_(None),
        RecoveryCode.confirmed_at.is_not(None),
    )


def has_2fa_sql() -> ColumnElement[bool]:
    """`has_2fa` over User."""
    return or_(has_totp_sql(), has_key_sql())


def ever_had_2fa_sql() -> ColumnElement[bool]:
    """`ever_had_2fa` over User."""
    return or_(User.first_2fa_enabled_at.is_not(None), has_totp_sql())
