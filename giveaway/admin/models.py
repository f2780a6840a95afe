"""What the admin area keeps: daily 2FA adoption snapshots and mandate reminders."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from giveaway import clock
from giveaway.db import Base, UTCDateTime


class AdoptionSnapshot(Base):
    """2FA among the maintainers of critical projects on one day (one row a day)."""

    __tablename__ = "adoption_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    # Owners and Maintainers of at least one critical project, counted once each.
    maintainers: Mapped[int] = mapped_column(Integer, default=0)
    with_key: Mapped[int] = mapped_column(Integer, default=0)
    with_totp: Mapped[int] = mapped_column(Integer, default=0)
    with_both: Mapped[int] = mapped_column(Integer, default=0)
    with_any: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def without(self) -> int:
        return self.maintainers - self.with_any


class MandateReminder(Base):
    """When a maintainer covered by the 2FA mandate was last reminded by email."""

    __tablename__ = "mandate_reminders"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_reminded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)
