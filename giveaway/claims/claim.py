"""The claim: one code per maintainer, taken in one atomic statement.

The statement picks the earliest-expiring free code and marks it claimed in
the same UPDATE, so two callers can never both be handed one code (the bug of
"select the first free code, then update it"). On PostgreSQL the pick uses
FOR UPDATE SKIP LOCKED, so concurrent claimers skip each other's rows instead
of queueing, and the same statement records the claim's event; on SQLite
writers are serialised by the database. The UNIQUE constraint on
claimed_by_id settles one person's simultaneous claims: the second one fails
there, is rolled back, and is shown the first one's code.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from giveaway import db, dialect, mail
from giveaway.accounts.models import User
from giveaway.claims.models import PromoBatch, PromoCode, mask, mask_sql
from giveaway.db import UTCDateTime
from giveaway.events import service as events
from giveaway.events.models import Event
from giveaway.links import external_url
from giveaway.mail.models import OutboxMessage

log = logging.getLogger(__name__)

SETUP_PATH = "/giveaway/setup"


@dataclass(frozen=True)
class ClaimedCode:
    """A claimed code as the claimant is shown it and mailed it (a copy, not a live row)."""

    id: int
    code: str
    batch_id: int
    expires_at: datetime
    claimed_by_id: int
    claimed_at: datetime

    @property
    def masked(self) -> str:
        return mask(self.code)

    @classmethod
    def of(cls, row: PromoCode) -> ClaimedCode:
        assert row.claimed_by_id is not None and row.claimed_at is not None
        return cls(
            row.id, row.code, row.batch_id, row.expires_at, row.claimed_by_id, row.claimed_at
        )


@dataclass(frozen=True)
class ClaimResult:
    status: Literal["claimed", "already", "empty"]
    code: ClaimedCode | None

    @property
    def new(self) -> bool:
        return self.status == "claimed"


def claimed_code(session: Session, user: User) -> PromoCode | None:
    """The code `user` claimed, or None."""
    return claimed_code_of(session, user.id)


def claimed_code_of(session: Session, user_id: int) -> PromoCode | None:
    return session.scalars(select(PromoCode).where(PromoCode.claimed_by_id == user_id)).first()


def claim_statement(dialect_name: str) -> Executable:
    """The claim as one statement: take the earliest-expiring free code for a person.

    Bound parameters: claimant_id, claim_now, and on PostgreSQL claim_ip. Built
    once per dialect (building it is a noticeable share of a claim's CPU time).

    SQLite: ``UPDATE promo_codes SET claimed_by_id … WHERE id = (pick one free
    code) RETURNING promo_codes.*``.

    PostgreSQL: the same UPDATE, with FOR UPDATE SKIP LOCKED in the pick, as a
    CTE; a second CTE writes the ``claim:claimed`` event from what the UPDATE
    returned, and the outer SELECT adds what the receipt needs from the batch.
    One round trip for the whole claim, plus the commit.
    """
    if dialect_name in _STATEMENTS:
        return _STATEMENTS[dialect_name]
    taken = take_a_code(dialect_name)
    stmt: Executable
    if dialect_name == dialect.POSTGRESQL:
        stmt = _pg_claim_and_record(taken)
    else:
        stmt = taken.returning(PromoCode).execution_options(synchronize_session=False)
    _STATEMENTS[dialect_name] = stmt
    return stmt


_STATEMENTS: dict[str, Executable] = {}


def take_a_code(dialect_name: str) -> Update:
    """The UPDATE at the heart of the claim, without RETURNING (bench/claim.py also
    runs it alone, to show what recording the event in the statement costs)."""
    claimant = bindparam("claimant_id", type_=Integer)
    # A bound parameter where the hybrid's SQL side takes the moment (typed as
    # the instance side's datetime).
    now: Any = bindparam("claim_now", type_=UTCDateTime)
    pick = (
        select(PromoCode.id)
        .where(PromoCode.is_available(now))
        .order_by(PromoCode.expires_at, PromoCode.id)
        .limit(1)
    )
    pick = dialect.skip_locked(pick, dialect_name)
    mine = aliased(PromoCode)
    taken = update(PromoCode).where(
        PromoCode.id == pick.scalar_subquery(),
        PromoCode.is_available(now),
        # With writers serialised (SQLite) a second claim by the same person sees
        # the first one here and takes nothing; on PostgreSQL the UNIQUE
        # constraint catches what this cannot see yet.
        ~exists().where(mine.claimed_by_id == claimant),
    )
    return taken.values(claimed_by_id=claimant, claimed_at=now, receipt_queued_at=now)


# What the PostgreSQL statement returns of the code (then the batch's two columns).
_CODE_COLUMNS = tuple(field.name for field in fields(ClaimedCode))


def _pg_claim_and_record(taken: Update) -> Select[*tuple[Any, ...]]:
    """WITH claimed AS (UPDATE … RETURNING *), recorded AS (INSERT INTO events …)
    SELECT claimed.*, batch.keys_per_code, batch.vendor, batch.store_url FROM claimed JOIN batch."""
    codes = PromoCode.__table__
    claimed = taken.returning(*(codes.c[name] for name in _CODE_COLUMNS)).cte("claimed")
    recorded = (
        insert(cast(Table, Event.__table__))
        .from_select(
            ["kind", "user_id", "ip_address", "detail", "created_at"],
            select(
                literal_column(f"'{CLAIMED_EVENT}'"),
                claimed.c.claimed_by_id,
                bindparam("claim_ip", type_=String),
                # The same detail events.record would write: the masked code, the batch.
                func.json_build_object(
                    literal_column("'code'"),
                    mask_sql(claimed.c.code),
                    literal_column("'batch_id'"),
                    claimed.c.batch_id,
                ),
                claimed.c.claimed_at,
            ),
        )
        .cte("recorded")
    )
    batches = PromoBatch.__table__
    return (
        select(claimed, batches.c.keys_per_code, batches.c.vendor, batches.c.store_url)
        .join_from(claimed, batches, batches.c.id == claimed.c.batch_id)
        .add_cte(recorded)
    )


CLAIMED_EVENT = "claim:claimed"
# The constraint that refuses a second code for one person (naming convention "uq").
ONE_CODE_EACH = "uq_promo_codes_claimed_by_id"


def claim(session: Session, user: User, now: datetime) -> ClaimResult:
    """Give `user` a code, or show the one they have; eligibility is checked by the caller.

    Records the event and queues the emailed receipt for a new claim. The
    caller commits (the request boundary, or the command).
    """
    user_id = user.id
    dialect_name = dialect.name(session)
    if dialect_name == dialect.POSTGRESQL:
        taken = _claim_postgresql(session, user, now)
        if taken is None:
            return _no_new_claim(session, user_id)
        code, batch = taken
    else:
        try:
            # SQLite serialises writers; it rolls back only the failing statement
            # (pysqlite's SAVEPOINT handling would commit early, so none is used).
            row = session.scalars(
                claim_statement(dialect_name), {"claimant_id": user_id, "claim_now": now}
            ).first()
        except IntegrityError:
            # The same person claimed at the same moment in another request and won.
            log.info("concurrent second claim by user %s resolved to their first code", user_id)
            row = None
        if row is None:
            return _no_new_claim(session, user_id)
        code = ClaimedCode.of(row)
        events.record(session, CLAIMED_EVENT, user, code=code.masked, batch_id=code.batch_id)
        batch = None
    send_receipt(session, user, code, batch)
    return ClaimResult("claimed", code)


def _claim_postgresql(
    session: Session, user: User, now: datetime
) -> tuple[ClaimedCode, tuple[int, str, str | None]] | None:
    """Run the one-statement claim; None when no code was taken.

    Two claims by one person at once: SKIP LOCKED hands them different codes,
    and the second one's UPDATE waits on the UNIQUE index until the first
    commits, then fails. That failure aborts the transaction, so it is rolled
    back and the caller reads the first claim's code instead. A rollback is
    only harmless when nothing was written before the claim (the web request:
    the claim is its first write); otherwise the statement runs inside a
    savepoint, which costs two more round trips.
    """
    params = {
        "claimant_id": user.id,
        "claim_now": now,
        "claim_ip": events.request_ip(),
    }
    stmt = claim_statement(dialect.POSTGRESQL)
    savepoint = session.begin_nested() if db.has_written(session) else None
    try:
        row = session.connection().execute(stmt, params).first()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != ONE_CODE_EACH:
            raise
        log.info("concurrent second claim by user %s resolved to their first code", user.id)
        if savepoint is not None:
            savepoint.rollback()
        else:
            session.rollback()
        return None
    if savepoint is not None:
        savepoint.commit()
    if row is None:
        return None
    *values, keys_per_code, vendor, store_url = row
    return ClaimedCode(*values), (keys_per_code, vendor, store_url)


def _no_new_claim(session: Session, user_id: int) -> ClaimResult:
    existing = claimed_code_of(session, user_id)
    if existing is not None:
        return ClaimResult("already", ClaimedCode.of(existing))
    return ClaimResult("empty", None)


def setup_url() -> str:
    """The key-registration walkthrough, by endpoint when it exists, else by its path."""

    if "giveaway.setup" in current_app.view_functions:
        return external_url("giveaway.setup")
    return current_app.config["BASE_URL"].rstrip("/") + SETUP_PATH


def send_receipt(
    session: Session,
    user: User,
    code: PromoCode | ClaimedCode,
    batch: tuple[int, str, str | None] | None = None,
) -> None:
    """Queue the receipt: rendered and put in the outbox once the claim has committed.

    Nothing is rendered in the claim's transaction: the claim marks the receipt
    due (`receipt_queued_at`, set by the claim statement) and the receipt is
    written after the commit, off the request in background delivery
    (`mail.after_commit`). A receipt lost with its process is written by
    `requeue_lost_receipts`. `batch` is accepted for callers that have it; the
    receipt reads what it needs when it is written.
    """
    code_id = code.id

    def write(own: Session) -> None:
        write_receipt(own, code_id)

    mail.after_commit(write)


def write_receipt(session: Session, code_id: int) -> bool:
    """Render the receipt of the claimed code `code_id` into the outbox, unless it is
    there already; True when written."""
    return bool(_write_receipts(session, PromoCode.id == code_id))


def _receipt_context(
    user: User, code: PromoCode | ClaimedCode, batch: tuple[int, str, str | None]
) -> dict[str, object]:
    """What the claim_receipt templates need, but the setup link (built when rendering).
    `batch`: its (keys_per_code, vendor, store_url); the store is where the code is
    redeemed (None for batches uploaded without one)."""
    return {
        "user": user,
        "code": code.code,
        "expires_at": code.expires_at,
        "keys_per_code": batch[0],
        "vendor": batch[1],
        "store_url": batch[2],
    }


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
    written = _write_receipts(session, PromoCode.receipt_queued_at < now - LOST_RECEIPT_AFTER)
    for user_id in written:
        log.warning("re-queuing the lost receipt of user %s", user_id)
    return len(written)


def _write_receipts(session: Session, *which: ColumnElement[bool]) -> list[int]:
    """Write the receipts of the claimed codes `which` selects that have none in the
    outbox yet (one statement reads them with their claimant and batch); returns
    the claimants' ids."""
    rows = session.execute(
        select(PromoCode, User, PromoBatch)
        .join(User, User.id == PromoCode.claimed_by_id)
        .join(PromoBatch, PromoBatch.id == PromoCode.batch_id)
        .where(
            PromoCode.claimed_by_id.is_not(None),
            *which,
            ~exists().where(
                OutboxMessage.user_id == PromoCode.claimed_by_id,
                OutboxMessage.template == "claim_receipt",
            ),
        )
        .order_by(PromoCode.id)
    ).all()
    for code, user, batch in rows:
        mail.send_in(
            session,
            mail.recipient(user.username, user.email),
            "claim_receipt",
            **_receipt_context(user, code, (batch.keys_per_code, batch.vendor, batch.store_url)),
            setup_link=setup_url(),
        )
    return [user.id for _, user, _ in rows]
