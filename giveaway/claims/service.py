"""The claim: one code per maintainer, taken in one atomic statement.

The statement picks the earliest-expiring free code and marks it claimed in
the same UPDATE, so two callers can never both be handed one code (the bug of
"select the first free code, then update it"). On PostgreSQL the pick uses
FOR UPDATE SKIP LOCKED, so concurrent claimers skip each other's rows instead
of queueing; on SQLite writers are serialised by the database. The UNIQUE
constraint on claimed_by_id is the backstop for one person claiming twice at
the same moment: the loser's statement fails and it is shown the winner's code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flask import current_app
from sqlalchemy import Integer, bindparam, exists, select, update
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
        .returning(PromoCode)
        .execution_options(synchronize_session=False)
    )
    _STATEMENTS[dialect] = stmt
    return stmt


_STATEMENTS: dict[str, object] = {}


def claim(session: Session, user: User, now: datetime) -> ClaimResult:
    """Give `user` a code, or show the one they have; eligibility is checked by the caller.

    Records the event and queues the emailed receipt for a new claim. The
    caller commits (the request boundary, or the command).
    """
    dialect = session.get_bind().dialect.name
    stmt = claim_statement(dialect)
    params = {"claimant_id": user.id, "claim_now": now}
    try:
        if dialect == "postgresql":
            with session.begin_nested():
                code = session.scalars(stmt, params).first()
        else:
            # SQLite rolls back only the failing statement; pysqlite's SAVEPOINT
            # handling would commit early instead, so none is used here.
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
    send_receipt(session, user, code)
    return ClaimResult("claimed", code)


def setup_url() -> str:
    """The key-registration walkthrough, by endpoint when it exists, else by its path."""
    from giveaway.links import external_url

    if "giveaway.setup" in current_app.view_functions:
        return external_url("giveaway.setup")
    return current_app.config["BASE_URL"].rstrip("/") + SETUP_PATH


def send_receipt(session: Session, user: User, code: PromoCode) -> None:
    """Queue the receipt; it is rendered and sent once the claim has committed."""
    batch = session.get(PromoBatch, code.batch_id)
    assert batch is not None
    context = {
        "user": user,
        "code": code.code,
        "expires_at": code.expires_at,
        "keys_per_code": batch.keys_per_code,
        "vendor": batch.vendor,
    }

    def render_context() -> dict[str, object]:
        return {**context, "setup_link": setup_url()}

    mail.send_later(mail.recipient(user.username, user.email), "claim_receipt", render_context)
