from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column, validates

from giveaway import clock
from giveaway.db import Base, UTCDateTime
from giveaway.inputs import caseless


def _email_key_default(context: Any) -> str | None:
    """For INSERTs that name no key (Core bulk inserts): the key of their email."""
    email = context.get_current_parameters().get("email")
    return caseless(email) if email is not None else None


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50))
    email: Mapped[str] = mapped_column(String(254))
    # The address case-folded in Python (inputs.caseless): what uniqueness and
    # look-ups compare, the same on SQLite and PostgreSQL. Set with the email
    # (nullable in the schema only: see migration 0008).
    email_key: Mapped[str | None] = mapped_column(String(320), default=_email_key_default)
    # None until set: accounts created by import-roles are activated by link.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped when the password changes or 2FA is reset: signs out other sessions.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    # TOTP: the secret, and the last time step accepted (a code is used once).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # The first time any 2FA method was enabled; kept forever, never cleared.
    first_2fa_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # WebAuthn user handle: random bytes, never the username or email.
    webauthn_user_handle: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    # The language chosen in the menu (a shipped locale, "de", "pt_BR"); None:
    # the browser's, and the default for mail (giveaway.i18n).
    locale: Mapped[str | None] = mapped_column(String(16))
    # The language the browser asked for at the last sign-in (giveaway.i18n):
    # mail sent later (a receipt, cron's reminders) speaks it when nothing was chosen.
    browser_locale: Mapped[str | None] = mapped_column(String(16))

    @validates("email")
    def _fold_email(self, key: str, value: str) -> str:
        self.email_key = caseless(value)
        return value

    # Flask-Login's interface.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.password_hash is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<User {self.username}>"


# Unique regardless of case: "Alice" and "alice" are the same person.
Index("uq_users_username_lower", func.lower(User.username), unique=True)
Index("uq_users_email_lower", func.lower(User.email), unique=True)
# ... and regardless of the case rules of the database (Ünal@ and ünal@ too).
Index("uq_users_email_key", User.email_key, unique=True)
