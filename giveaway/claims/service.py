"""The claim: one code per maintainer, taken in one atomic statement.

The statement picks the earliest-expiring free code and marks it claimed in
the same UPDATE, so two callers can never both be handed one code (the bug of
"select the first free code, then update it"). On PostgreSQL the pick uses
FOR UPDATE SKIP LOCKED, so concurrent claimers skip each other's rows instead
of queueing; on SQLite writers are serialised by the database. One person's
simultaneous claims are queued by a transaction-level advisory lock on
PostgreSQL (the second one then finds the first and is shown that code); the
UNIQUE constraint on claimed_by_id is the backstop under both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from flask import current_app
from sqlalchemy import Integer, bindparam, exists, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from giveaway import mail
from giveaway.accounts.models import User
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.db import UTCDateTime
from giveaway.events import service as events

log = logging.getLogger(__name__)

SETUP_PATH = "/giveaway/setup"


@dataclass(frozen=True)
class ClaimResult:
    status: Literal["claimed", "already", "empty"]
    code: PromoCode | None

    @property
    def new(self) -> bool:
        return self.status == "claimed"


def claimed_code(session: Session, user: User) -> PromoCode | None:
    """The code `user` claimed, or None."""
    return session.scalars(select(PromoCode).where(PromoCode.claimed_by_id == user.id)).first()


def available_filter(now: datetime) -> tuple:  # type: ignore[type-arg]
    """Usable and free at `now`, whether or not the expiry job has run."""
    return (
        PromoCode.claimed_by_id.is_(None),
        PromoCode.voided_at.is_(None),
        PromoCode.expired_at.is_(None),
        PromoCode.expires_at > now,
    )


def claim_statement(dialect: str):  # type: ignore[no-untyped-def]
    """UPDATE promo_codes SET claimed_by_id … WHERE id = (pick one free code) RETURNING …

    Bound parameters: claimant_id, claim_now. Built once per dialect (building
    it is a noticeable share of a claim's CPU time).
    """
    if dialect in _STATEMENTS:
        return _STATEMENTS[dialect]
    claimant = bindparam("claimant_id", type_=Integer)
    now = bindparam("claim_now", type_=UTCDateTime)
    pick = (
        select(PromoCode.id)
        .where(*available_filter(now))  # type: ignore[arg-type]
        .order_by(PromoCode.expires_at, PromoCode.id)
        .limit(1)
    )
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    mine = aliased(PromoCode)
    stmt = (
        update(PromoCode)
        .where(
            PromoCode.id == pick.scalar_subquery(),
            *available_filter(now),  # type: ignore[arg-type]
            # With writers serialised (SQLite) a second claim by the same person sees
            # the first one here and takes nothing; on PostgreSQL the UNIQUE
            # constraint catches what this cannot see yet.
            ~exists().where(mine.claimed_by_id == claimant),
        )
        .values(claimed_by_id=claimant, claimed_at=now, receipt_queued_at=now)
        .returning(PromoCode, *_batch_columns(dialect))
        .execution_options(synchronize_session=False)
    )
    _STATEMENTS[dialect] = stmt
    return stmt


_STATEMENTS: dict[str, object] = {}


def _batch_columns(dialect: str) -> tuple:  # type: ignore[type-arg]
    """On PostgreSQL the statement also returns what the receipt needs from the batch
    (a query less per claim); SQLite's RETURNING cannot hold subqueries."""
    if dialect != "postgresql":
        return ()
    return tuple(
        select(column).where(PromoBatch.id == PromoCode.batch_id).scalar_subquery()
        for column in (PromoBatch.keys_per_code, PromoBatch.vendor)
    )


# pg_advisory_xact_lock(int, int): the first number names "a person's claim".
CLAIM_LOCK_KEY = 0x6761  # "ga"
_LOCK = text("SELECT pg_advisory_xact_lock(:key, :claimant_id)")


def claim(session: Session, user: User, now: datetime) -> ClaimResult:
    """Give `user` a code, or show the one they have; eligibility is checked by the caller.

    Records the event and queues the emailed receipt for a new claim. The
    caller commits (the request boundary, or the command).
    """
    dialect = session.get_bind().dialect.name
    stmt = claim_statement(dialect)
    params = {"claimant_id": user.id, "claim_now": now}
    code: PromoCode | None = None
    batch: tuple[int, str] | None = None
    if dialect == "postgresql":
        # Claims by one person queue here until the earlier one's transaction
        # ends; the claim statement below then starts with a fresh snapshot
        # (READ COMMITTED) in which its NOT EXISTS guard sees that earlier claim
        # and takes nothing. Other people's claims never wait on this lock.
        # One round trip, where a savepoint around the statement took two.
        session.execute(_LOCK, {"key": CLAIM_LOCK_KEY, "claimant_id": user.id})
        # The UNIQUE constraint stays the backstop: should a claim ever slip past
        # the lock, the statement fails and the whole request is rolled back.
        row = session.execute(stmt, params).first()
        if row is not None:
            code, batch = row[0], (row[1], row[2])
    else:
        try:
            # SQLite serialises writers; it rolls back only the failing statement
            # (pysqlite's SAVEPOINT handling would commit early, so none is used).
            code = session.scalars(stmt, params).first()
        except IntegrityError:
            # The same person claimed at the same moment in another request and won.
            log.info("concurrent second claim by user %s resolved to their first code", user.id)
            code = None
    if code is None:
        existing = claimed_code(session, user)
        if existing is not None:
            return ClaimResult("already", existing)
        return ClaimResult("empty", None)
    events.record(session, "claim:claimed", user, code=code.masked, batch_id=code.batch_id)
    send_receipt(session, user, code, batch)
    return ClaimResult("claimed", code)


def setup_url() -> str:
    """The key-registration walkthrough, by endpoint when it exists, else by its path."""
    from giveaway.links import external_url

    if "giveaway.setup" in current_app.view_functions:
        return external_url("giveaway.setup")
    return current_app.config["BASE_URL"].rstrip("/") + SETUP_PATH


def send_receipt(
    session: Session, user: User, code: PromoCode, batch: tuple[int, str] | None = None
) -> None:
    """Queue the receipt; it is rendered and sent once the claim has committed.

    `batch`: the batch's (keys_per_code, vendor) when the caller has them already.
    """
    if batch is None:
        row = session.get(PromoBatch, code.batch_id)
        assert row is not None
        batch = (row.keys_per_code, row.vendor)
    context = {
        "user": user,
        "code": code.code,
        "expires_at": code.expires_at,
        "keys_per_code": batch[0],
        "vendor": batch[1],
    }

    def render_context() -> dict[str, object]:
        return {**context, "setup_link": setup_url()}

    mail.send_later(mail.recipient(user.username, user.email), "claim_receipt", render_context)


# A receipt queued longer ago than this and still not in the outbox was lost
# (the process stopped between the claim's commit and writing the receipt).
LOST_RECEIPT_AFTER = timedelta(minutes=10)


def requeue_lost_receipts(session: Session, now: datetime) -> int:
    """Put back in the outbox the receipts of claims whose receipt never got there.

    The receipt is written to the outbox just after the claim commits; a
    process that stops in between would lose it. The expiry job calls this:
    claims older than LOST_RECEIPT_AFTER with no claim_receipt in the outbox
    for their claimant get it now (at most once: the outbox row is the record).
    """
    from giveaway.mail.models import OutboxMessage

    lost = session.scalars(
        select(PromoCode)
        .where(
            PromoCode.claimed_by_id.is_not(None),
            PromoCode.receipt_queued_at < now - LOST_RECEIPT_AFTER,
            ~exists().where(
                OutboxMessage.user_id == PromoCode.claimed_by_id,
                OutboxMessage.template == "claim_receipt",
            ),
        )
        .order_by(PromoCode.id)
    ).all()
    for code in lost:
        user = session.get(User, code.claimed_by_id)
        batch = session.get(PromoBatch, code.batch_id)
        assert user is not None and batch is not None
        log.warning("re-queuing the lost receipt of user %s", user.id)
        mail.send(
            mail.recipient(user.username, user.email),
            "claim_receipt",
            user=user,
            code=code.code,
            expires_at=code.expires_at,
            keys_per_code=batch.keys_per_code,
            vendor=batch.vendor,
            setup_link=setup_url(),
        )
    return len(lost)
