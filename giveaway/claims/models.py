"""Promo batches, promo codes and the "tell me when codes return" list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    case,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.claims.lifecycle import CodeLifecycle
from giveaway.db import Base, UTCDateTime


class PromoBatch(Base):
    __tablename__ = "promo_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    vendor: Mapped[str] = mapped_column(String(100), default="")
    keys_per_code: Mapped[int] = mapped_column(Integer, default=2)
    # A batch's expiry never changes once uploaded; its codes carry a copy. The
    # exact instant: the end of the day entered, in the giveaway's time zone
    # (deadline.py).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The vendor's store where the codes are redeemed (https); NULL for batches
    # uploaded before it was asked: the pages then say the vendor gives the link.
    store_url: Mapped[str | None] = mapped_column(String(500))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    code_count: Mapped[int] = mapped_column(Integer, default=0)

    uploaded_by: Mapped[User | None] = relationship()


class PromoCode(CodeLifecycle, Base):
    """A promo code; its states (in the pool, available, expired…) are in lifecycle.py."""

    __tablename__ = "promo_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("promo_batches.id", ondelete="RESTRICT"), index=True
    )
    # The batch's expiry, copied at upload: the claim statement then needs one
    # index on one table to find the earliest-expiring free code.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # UNIQUE: the database itself refuses a second code for the same person.
    claimed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(String(500))
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the emailed receipt was queued (it goes out after the claim commits).
    receipt_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Loaded with the code, in the same SELECT: every page or email that shows a
    # code also shows its batch's keys, vendor and store (no lazy load per request).
    batch: Mapped[PromoBatch] = relationship(lazy="joined", innerjoin=True)
    claimed_by: Mapped[User | None] = relationship()

    @property
    def masked(self) -> str:
        return mask(self.code)


# The claim statement's index: only codes in the pool, in the order they go out.
Index(
    "ix_promo_codes_available",
    PromoCode.expires_at,
    PromoCode.id,
    sqlite_where=PromoCode.in_pool,
    postgresql_where=PromoCode.in_pool,
)
# The expiry job's reminder scan: claimed codes by expiry.
Index(
    "ix_promo_codes_claimed_expiry",
    PromoCode.expires_at,
    sqlite_where=text("claimed_by_id IS NOT NULL AND reminder_sent_at IS NULL"),
    postgresql_where=text("claimed_by_id IS NOT NULL AND reminder_sent_at IS NULL"),
)


class RestockRequest(Base):
    """A maintainer who found the pool empty and asked to be told when codes return."""

    __tablename__ = "restock_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class UploadPreview(Base):
    """A validated upload waiting for the admin's confirmation (deleted on confirm)."""

    __tablename__ = "promo_upload_previews"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    batch_name: Mapped[str] = mapped_column(String(100))
    vendor: Mapped[str] = mapped_column(String(100), default="")
    keys_per_code: Mapped[int] = mapped_column(Integer, default=2)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    store_url: Mapped[str | None] = mapped_column(String(500))
    blank_lines: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[str] = mapped_column(Text)


def mask(code: str) -> str:
    """First two and last two characters: enough to tell codes apart, not to use one."""
    if len(code) <= 6:
        return code[:1] + "…" if code else ""
    return f"{code[:2]}…{code[-2:]}"


def mask_sql(code: ColumnElement[str]) -> ColumnElement[str]:
    """`mask` as a SQL expression (PostgreSQL), for statements that record a claim
    without a round trip back to Python. A test holds the two to the same output."""
    ellipsis = literal_column("'…'", String)
    return case(
        (
            func.char_length(code) > 6,
            func.left(code, 2, type_=String) + ellipsis + func.right(code, 2, type_=String),
        ),
        (code == literal_column("''"), literal_column("''", String)),
        else_=func.left(code, 1, type_=String) + ellipsis,
    )
