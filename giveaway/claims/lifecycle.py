"""A promo code's life: in the pool, then claimed, voided or expired.

Every state is written once here, as a hybrid: on a loaded code it is a
Python check, on the class it is a SQL expression that queries compose. The
claim, the eligibility page, the pool's counts, the expiry job, the dashboard
and the claim statement's partial index all use these and nothing else;
tests/claims/test_lifecycle.py holds the two forms to the same answer on
SQLite and on PostgreSQL.

A code is *in the pool* while nobody claimed it and it was neither voided nor
marked expired by the expiry job. It is *available* while it is in the pool
and its batch's expiry is still ahead: a code past its expiry is never handed
out, whether or not the job has run yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, String, and_, case, literal_column, or_
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import Mapped

if TYPE_CHECKING:
    pass

# The states a code is counted in (one each): see CodeLifecycle.state.
AVAILABLE = "available"
CLAIMED = "claimed"
EXPIRED = "expired"
VOIDED = "voided"
STATES = (AVAILABLE, CLAIMED, EXPIRED, VOIDED)


def _label(state: str) -> ColumnElement[str]:
    return literal_column(f"'{state}'", String)


class CodeLifecycle:
    """The lifecycle predicates of PromoCode (a mixin: the columns are PromoCode's)."""

    if TYPE_CHECKING:
        claimed_by_id: Mapped[int | None]
        claimed_at: Mapped[datetime | None]
        expires_at: Mapped[datetime]
        expired_at: Mapped[datetime | None]
        voided_at: Mapped[datetime | None]

    @hybrid_property
    def is_claimed(self) -> bool:
        return self.claimed_by_id is not None

    @is_claimed.inplace.expression
    @classmethod
    def _is_claimed(cls) -> ColumnElement[bool]:
        return cls.claimed_by_id.is_not(None)

    @hybrid_property
    def is_voided(self) -> bool:
        """Voided by an admin (only a free code can be)."""
        return self.voided_at is not None

    @is_voided.inplace.expression
    @classmethod
    def _is_voided(cls) -> ColumnElement[bool]:
        return cls.voided_at.is_not(None)

    @hybrid_property
    def in_pool(self) -> bool:
        """Free, not voided, not marked expired: the claim statement's partial index."""
        return self.claimed_by_id is None and self.voided_at is None and self.expired_at is None

    @in_pool.inplace.expression
    @classmethod
    def _in_pool(cls) -> ColumnElement[bool]:
        return and_(cls.claimed_by_id.is_(None), cls.voided_at.is_(None), cls.expired_at.is_(None))

    @hybrid_method
    def is_past_expiry(self, now: datetime) -> bool:
        """Its batch's expiry has come (the expiry job may not have marked it yet)."""
        return self.expires_at <= now

    @is_past_expiry.expression
    @classmethod
    def _is_past_expiry(cls, now: Any) -> ColumnElement[bool]:
        return cls.expires_at <= now

    @hybrid_method
    def is_usable(self, now: datetime) -> bool:
        """Not voided, not marked expired and its batch not past its expiry."""
        return self.voided_at is None and self.expired_at is None and self.expires_at > now

    @is_usable.expression
    @classmethod
    def _is_usable(cls, now: Any) -> ColumnElement[bool]:
        return and_(cls.voided_at.is_(None), cls.expired_at.is_(None), cls.expires_at > now)

    @hybrid_method
    def is_available(self, now: datetime) -> bool:
        """Can be handed out at `now`: free and usable."""
        return self.claimed_by_id is None and self.is_usable(now)

    @is_available.expression
    @classmethod
    def _is_available(cls, now: Any) -> ColumnElement[bool]:
        return and_(cls.claimed_by_id.is_(None), cls.is_usable(now))

    @hybrid_method
    def is_due_to_expire(self, now: datetime) -> bool:
        """In the pool but past its expiry: what the expiry job marks expired."""
        return self.in_pool and self.expires_at <= now

    @is_due_to_expire.expression
    @classmethod
    def _is_due_to_expire(cls, now: Any) -> ColumnElement[bool]:
        return and_(cls.in_pool, cls.is_past_expiry(now))

    @hybrid_method
    def state(self, now: datetime) -> str:
        """The one state a code is counted in at `now` (the pool's and the dashboard's
        figures): claimed, else voided, else expired (marked or by date), else available."""
        if self.claimed_by_id is not None:
            return CLAIMED
        if self.voided_at is not None:
            return VOIDED
        if self.expired_at is not None or self.expires_at <= now:
            return EXPIRED
        return AVAILABLE

    @state.expression
    @classmethod
    def _state(cls, now: Any) -> ColumnElement[str]:
        return case(
            (cls.claimed_by_id.is_not(None), _label(CLAIMED)),
            (cls.voided_at.is_not(None), _label(VOIDED)),
            (or_(cls.expired_at.is_not(None), cls.expires_at <= now), _label(EXPIRED)),
            else_=_label(AVAILABLE),
        )

    def left_pool_at(self) -> datetime:
        """When the code stopped being available: claimed, voided, marked expired or
        reached its expiry, whichever came first."""
        return left_pool_at(self.claimed_at, self.voided_at, self.expired_at, self.expires_at)


def left_pool_at(
    claimed_at: datetime | None,
    voided_at: datetime | None,
    expired_at: datetime | None,
    expires_at: datetime,
) -> datetime:
    """CodeLifecycle.left_pool_at over bare columns (the dashboard reads columns, not rows)."""
    return min(m for m in (claimed_at, voided_at, expired_at, expires_at) if m is not None)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(STATES, 0)
