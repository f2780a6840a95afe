"""The expiry job (`giveaway expire-codes`, run by cron on every host).

It marks free codes past their batch's expiry as expired, reminds claimants
whose code expires soon and who have not registered a security key yet (once each), and
tells the "email me when codes return" list when codes are available again,
and puts back in the outbox any claim receipt a stopped process lost.
Running it twice changes nothing the second time. On PostgreSQL a
transaction-level advisory lock lets only one host work at a time; the others
see the lock and stop at once. On SQLite the run takes the write lock up front
(BEGIN IMMEDIATE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from giveaway import db, dialect, mail
from giveaway.accounts.models import User
from giveaway.claims import restock
from giveaway.claims.claim import requeue_lost_receipts, setup_url
from giveaway.claims.models import PromoCode
from giveaway.twofactor import status

# dialect.try_lock's key for "giveaway expire-codes", stable across hosts.
LOCK_KEY = 0x67697665_65787069 & 0x7FFFFFFFFFFFFFFF


@dataclass
class Summary:
    locked_out: bool = False
    expired: int = 0
    reminded: int = 0
    notified: int = 0
    receipts: int = 0

    def line(self) -> str:
        if self.locked_out:
            return "expire-codes: another run holds the lock; nothing to do here."
        lost = f" {self.receipts} lost claim receipts queued again." if self.receipts else ""
        return (
            f"expire-codes: {self.expired} codes expired, {self.reminded} reminders sent, "
            f"{self.notified} people told that codes are available.{lost}"
        )


def run(session: Session, now: datetime, *, reminder_days: int) -> Summary:
    """One run of the job in the caller's transaction (the caller commits)."""
    summary = Summary()
    if not dialect.try_lock(session, LOCK_KEY):
        summary.locked_out = True
        return summary
    summary.expired = expire(session, now)
    summary.reminded = remind(session, now, reminder_days)
    summary.notified = restock.notify(session, now)
    summary.receipts = requeue_lost_receipts(session, now)
    return summary


def expire(session: Session, now: datetime) -> int:
    result = session.execute(
        update(PromoCode)
        .where(PromoCode.is_due_to_expire(now))
        .values(expired_at=now)
        .execution_options(synchronize_session=False)
    )
    return db.affected_rows(result) or 0


def has_registered_key(session: Session, user: User) -> bool:
    """A claimant with a security key on their account needs no reminder to use the code."""
    return status.key_count(session, user) > 0


def remind(session: Session, now: datetime, days: int) -> int:
    if days <= 0:
        return 0
    rows = session.execute(
        select(PromoCode, User)
        .join(User, User.id == PromoCode.claimed_by_id)
        .where(
            PromoCode.reminder_sent_at.is_(None),
            # (a claimed code is never marked expired: usable here means still in date)
            PromoCode.is_usable(now),
            PromoCode.expires_at <= now + timedelta(days=days),
        )
        .order_by(PromoCode.id)
    ).all()
    sent = 0
    for code, user in rows:
        if has_registered_key(session, user):
            continue
        code.reminder_sent_at = now
        mail.send(
            mail.recipient(user.username, user.email),
            "claim_reminder",
            user=user,
            code=code.code,
            expires_at=code.expires_at,
            days_left=max(0, (code.expires_at - now).days),
            # The batch came with the code (PromoCode.batch is loaded in the same SELECT).
            keys_per_code=code.batch.keys_per_code,
            vendor=code.batch.vendor,
            store_url=code.batch.store_url,
            setup_link=setup_url(),
        )
        sent += 1
    return sent
