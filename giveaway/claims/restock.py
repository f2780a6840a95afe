""" "Tell me when codes return": the list of maintainers who found the pool empty.

Only someone held back by the empty pool alone may ask (everything else about
them passes); asking again renews the request. The expiry job tells everyone
waiting once codes are available again, and the giveaway is still open.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from giveaway import dialect, mail
from giveaway.accounts.models import User
from giveaway.claims import facts
from giveaway.claims.eligibility import Eligibility, codes_available, window
from giveaway.claims.models import PromoCode, RestockRequest


class NotHeldBackByThePool(Exception):
    """Only people held back by the empty pool alone are told when codes return."""

    def __init__(self, codes_available: bool) -> None:
        super().__init__("only the empty pool may hold the person back")
        self.codes_available = codes_available


def is_waiting(session: Session, user: User) -> bool:
    """`user` asked to be told and has not been yet."""
    return facts.of(session, user).waiting_for_codes


def ask(session: Session, user: User, result: Eligibility, now: datetime) -> None:
    """Put `user` (whose eligibility is `result`) on the list, or renew their request;
    raises NotHeldBackByThePool when something else than the pool holds them back."""
    if not result.only_pool_empty:
        raise NotHeldBackByThePool(result.codes_available)
    # One statement: a double submit (two requests at once) renews the row the
    # first one wrote instead of failing on the unique user_id.
    dialect.upsert(
        session,
        RestockRequest,
        {"user_id": user.id, "created_at": now, "notified_at": None},
        key=["user_id"],
        update=["created_at", "notified_at"],
    )


def notify(session: Session, now: datetime) -> int:
    """Email everyone waiting, once codes are available and the giveaway is not closed."""
    if window().state(now) == "closed" or not codes_available(session, now):
        return 0
    rows = session.execute(
        select(RestockRequest, User)
        .join(User, User.id == RestockRequest.user_id)
        .where(RestockRequest.notified_at.is_(None))
        .order_by(RestockRequest.id)
    ).all()
    claimed = set(
        session.scalars(
            select(PromoCode.claimed_by_id).where(
                PromoCode.claimed_by_id.in_([user.id for _, user in rows])
            )
        )
    )
    sent = 0
    for request, user in rows:
        request.notified_at = now
        if user.id in claimed:
            continue
        mail.send(mail.recipient(user.username, user.email), "codes_returned", user=user)
        sent += 1
    return sent
