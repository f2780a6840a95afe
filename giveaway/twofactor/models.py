from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.db import Base, UTCDateTime

LABEL_MAX_LENGTH = 64


class WebAuthnCredential(Base):
    """A security key registered to an account."""

    __tablename__ = "webauthn_credentials"
    __table_args__ = (UniqueConstraint("user_id", "label", name="uq_webauthn_credentials_label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Raw bytes as the authenticator made them; unique across every account.
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # An unsigned 32-bit counter: larger than a signed INTEGER can hold.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    label: Mapped[str] = mapped_column(String(LABEL_MAX_LENGTH))
    transports: Mapped[list[Any]] = mapped_column(JSON, default=list)
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backup_state: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Set when the key passes a sign-in.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class RecoveryCode(Base):
    """One single-use recovery code, stored as a keyed hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set on the whole set once one of its codes was typed back: proof it was saved.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Unique handles; an index rather than a constraint so that SQLite can add it
# without rebuilding the users table.
Index("uq_users_webauthn_user_handle", User.webauthn_user_handle, unique=True)
Index("ix_recovery_codes_user_id_used_at", RecoveryCode.user_id, RecoveryCode.used_at)


class UsedChallenge(Base):
    """WebAuthn challenges already answered, kept until they would have expired.

    The session forgets a challenge once used, but a client could send an older
    session cookie again; this table refuses the second answer to a challenge.
    """

    __tablename__ = "webauthn_used_challenges"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
