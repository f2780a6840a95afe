"""The figures behind the admin dashboard: is the giveaway raising 2FA adoption?

Plain functions over a session that return values; every figure is one or a
few SQL queries whatever the number of maintainers (no query per user).

Definitions (shown on the dashboard too), each composed from the module
that owns it rather than written again here:

- critical maintainers: users with an Owner or Maintainer role on at least
  one critical project, each counted once (projects/maintainers.py);
- eligible maintainers: those who pass the eligibility criteria about the
  account (claims/eligibility.py `account_criteria`: a critical maintainer,
  a verified email, an account created before the cut-off, and no 2FA before
  the giveaway), except that 2FA enabled after claiming a code keeps a
  claimant in the funnel once they set up their keys;
- 2FA now: a security key or an authenticator app (twofactor/status.py);
- a code's state in the pool (claims/lifecycle.py);
- the funnel's later stages are nested: claimed → at least one security key →
  at least two → two keys and recovery codes saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from giveaway import dialect
from giveaway.accounts.models import User
from giveaway.admin.models import AdoptionSnapshot
from giveaway.claims import eligibility, lifecycle
from giveaway.claims import pool as codes_pool
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.projects import maintainers
from giveaway.twofactor import status
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential

# The longest history a plot shows.
MAX_DAYS = 120


# --- populations -------------------------------------------------------------------


def _key_counts() -> Any:
    return (
        select(WebAuthnCredential.user_id, func.count().label("n"))
        .group_by(WebAuthnCredential.user_id)
        .subquery("key_counts")
    )


def _recovery_counts() -> Any:
    return (
        select(RecoveryCode.user_id, func.count().label("n"))
        .group_by(RecoveryCode.user_id)
        .subquery("recovery_counts")
    )


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# --- the pool ----------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    id: int
    name: str
    vendor: str
    expires_at: datetime
    days_left: int
    available: int
    claimed: int
    expired: int
    voided: int

    @property
    def total(self) -> int:
        return self.available + self.claimed + self.expired + self.voided


def pool(session: Session, now: datetime) -> list[BatchRow]:
    """Per batch (earliest expiry first): codes available, claimed, expired, voided."""
    counts = codes_pool.batch_counts(session, now)
    empty = lifecycle.empty_counts()
    rows = []
    for batch in session.scalars(select(PromoBatch).order_by(PromoBatch.expires_at, PromoBatch.id)):
        c = counts.get(batch.id, empty)
        rows.append(
            BatchRow(
                id=batch.id,
                name=batch.name,
                vendor=batch.vendor,
                expires_at=batch.expires_at,
                days_left=days_until(batch.expires_at, now),
                **c,
            )
        )
    return rows


def days_until(moment: datetime, now: datetime) -> int:
    """Whole days from now until `moment` (negative once past)."""
    seconds = (moment - now).total_seconds()
    return int(seconds // 86400)


POOL_HEADER = [
    "batch",
    "vendor",
    "expires_at",
    "days_left",
    "available",
    "claimed",
    "expired",
    "voided",
]


def pool_rows(rows: list[BatchRow]) -> list[list[object]]:
    return [
        [r.name, r.vendor, r.expires_at, r.days_left, r.available, r.claimed, r.expired, r.voided]
        for r in rows
    ]


# --- over time ------------------------------------------------------------------------


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _end_of(day: date) -> datetime:
    """The last instant of `day` (a code expiring at the next midnight still counts)."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


def history_start(session: Session, now: datetime) -> date | None:
    """The first day worth plotting: the first upload (or claim), at most MAX_DAYS ago."""
    first = session.scalar(select(func.min(PromoBatch.uploaded_at)))
    first_claim = session.scalar(select(func.min(PromoCode.claimed_at)))
    candidates = [m for m in (first, first_claim) if m is not None]
    if not candidates:
        return None
    start = _day(min(candidates))
    return max(start, _day(now) - timedelta(days=MAX_DAYS - 1))


def _days(start: date | None, now: datetime) -> list[date]:
    if start is None:
        return []
    end = _day(now)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def claims_per_day(session: Session, now: datetime) -> list[tuple[date, int]]:
    """Codes claimed on each day (UTC) from the start of the giveaway to today."""
    days = _days(history_start(session, now), now)
    if not days:
        return []
    since = datetime.combine(days[0], time.min, UTC)
    per_day = dict.fromkeys(days, 0)
    for claimed_at in session.scalars(
        select(PromoCode.claimed_at).where(
            PromoCode.claimed_at.is_not(None), PromoCode.claimed_at >= since
        )
    ):
        assert claimed_at is not None  # the query leaves out codes never claimed
        day = _day(claimed_at)
        if day in per_day:
            per_day[day] += 1
    return list(per_day.items())


def burn_down(session: Session, now: datetime) -> list[tuple[date, int]]:
    """Codes available at the end of each day (today: now).

    A code is in the pool from its batch's upload until it is claimed, voided,
    marked expired or reaches its expiry, whichever comes first.
    """
    days = _days(history_start(session, now), now)
    if not days:
        return []
    rows = session.execute(
        select(
            PromoBatch.uploaded_at,
            PromoCode.claimed_at,
            PromoCode.voided_at,
            PromoCode.expired_at,
            PromoCode.expires_at,
        ).join(PromoBatch, PromoBatch.id == PromoCode.batch_id)
    ).all()
    spans = [
        (uploaded, lifecycle.left_pool_at(claimed, voided, expired, expires))
        for uploaded, claimed, voided, expired, expires in rows
    ]
    series = []
    for day in days:
        at = min(_end_of(day), now)
        series.append((day, sum(1 for start, end in spans if start <= at < end)))
    return series


# --- the funnel -------------------------------------------------------------------------


@dataclass(frozen=True)
class Funnel:
    eligible: int
    claimed: int
    first_key: int
    second_key: int
    recovery_codes: int

    def stages(self) -> list[tuple[str, int]]:
        return [
            ("Eligible maintainers", self.eligible),
            ("Claimed a code", self.claimed),
            ("Registered a first key", self.first_key),
            ("Registered a second key", self.second_key),
            ("Saved recovery codes", self.recovery_codes),
        ]


def funnel(session: Session, now: datetime) -> Funnel:
    """Eligible maintainers → claimed → first key → second key → recovery codes (one query)."""
    keys = _key_counts()
    recovery = _recovery_counts()
    claimed = PromoCode.id.is_not(None)
    n_keys = func.coalesce(keys.c.n, 0)
    criteria = eligibility.account_criteria(eligibility.account_cutoff())
    # 2FA set up after a claim keeps the claimant in the funnel.
    criteria["no_2fa"] = or_(criteria["no_2fa"], claimed)
    row = session.execute(
        select(
            func.count(),
            _count(claimed),
            _count(and_(claimed, n_keys >= 1)),
            _count(and_(claimed, n_keys >= 2)),
            _count(and_(claimed, n_keys >= 2, func.coalesce(recovery.c.n, 0) > 0)),
        )
        .select_from(User)
        .outerjoin(PromoCode, PromoCode.claimed_by_id == User.id)
        .outerjoin(keys, keys.c.user_id == User.id)
        .outerjoin(recovery, recovery.c.user_id == User.id)
        .where(*criteria.values())
    ).one()
    return Funnel(*(int(v or 0) for v in row))


# --- adoption ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Adoption:
    maintainers: int
    with_key: int
    with_totp: int
    with_both: int
    with_any: int

    @property
    def without(self) -> int:
        return self.maintainers - self.with_any

    @property
    def key_only(self) -> int:
        return self.with_key - self.with_both

    @property
    def totp_only(self) -> int:
        return self.with_totp - self.with_both

    def percent(self, value: int) -> float:
        return 100.0 * value / self.maintainers if self.maintainers else 0.0

    def breakdown(self) -> list[tuple[str, int]]:
        return [
            ("Security key", self.with_key),
            ("Authenticator app (TOTP)", self.with_totp),
            ("Both", self.with_both),
            ("Any 2FA", self.with_any),
            ("None", self.without),
        ]


def adoption(session: Session) -> Adoption:
    """2FA now among the maintainers of critical projects, by method (one query)."""
    key = status.has_key_sql()
    totp = status.has_totp_sql()
    row = session.execute(
        select(
            func.count(),
            _count(key),
            _count(totp),
            _count(and_(key, totp)),
            _count(or_(key, totp)),
        )
        .select_from(User)
        .where(maintainers.is_critical_maintainer(User.id))
    ).one()
    return Adoption(*(int(v or 0) for v in row))


def record_snapshot(session: Session, now: datetime) -> tuple[AdoptionSnapshot, bool]:
    """Today's adoption figures: one row a day, updated when run again the same day.

    Returns the row and whether it was new. Safe when several hosts run it at once
    (an INSERT … ON CONFLICT on the day).
    """
    figures = adoption(session)
    day = _day(now)
    existed = session.scalar(select(AdoptionSnapshot.id).where(AdoptionSnapshot.day == day))
    values = {
        "day": day,
        "maintainers": figures.maintainers,
        "with_key": figures.with_key,
        "with_totp": figures.with_totp,
        "with_both": figures.with_both,
        "with_any": figures.with_any,
        "recorded_at": now,
    }
    dialect.upsert(
        session,
        AdoptionSnapshot,
        values,
        key=["day"],
        update=[column for column in values if column != "day"],
    )
    session.flush()
    snapshot = session.scalar(
        select(AdoptionSnapshot)
        .where(AdoptionSnapshot.day == day)
        .execution_options(populate_existing=True)
    )
    assert snapshot is not None
    return snapshot, existed is None


def adoption_history(session: Session, now: datetime) -> list[AdoptionSnapshot]:
    """The daily snapshots of the last MAX_DAYS days, oldest first."""
    since = _day(now) - timedelta(days=MAX_DAYS - 1)
    return list(
        session.scalars(
            select(AdoptionSnapshot)
            .where(AdoptionSnapshot.day >= since)
            .order_by(AdoptionSnapshot.day)
        )
    )


ADOPTION_HEADER = [
    "day",
    "maintainers",
    "with_security_key",
    "with_totp",
    "with_both",
    "with_any_2fa",
    "without_2fa",
]


def adoption_rows(history: list[AdoptionSnapshot]) -> list[list[object]]:
    return [
        [s.day, s.maintainers, s.with_key, s.with_totp, s.with_both, s.with_any, s.without]
        for s in history
    ]


def percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0
