"""The claims as CSV (`giveaway export-claims` and the admin page), safe to open in a spreadsheet.

The first four columns are the contract (username,code,batch,claimed_at); the
code's expiry follows, as the exact instant (ISO 8601, UTC) and as people are
told it (the end of the last day, in the giveaway's time zone: deadline.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from giveaway.accounts.models import User
from giveaway.claims import deadline
from giveaway.claims.models import PromoBatch, PromoCode
from giveaway.csvexport import safe_cell

HEADER = ("username", "code", "batch", "claimed_at", "expires_at", "usable_until")


def rows(session: Session) -> Iterator[tuple[str, str, str, str, str, str]]:
    result = session.execute(
        select(
            User.username,
            PromoCode.code,
            PromoBatch.name,
            PromoCode.claimed_at,
            PromoCode.expires_at,
        )
        .join(User, User.id == PromoCode.claimed_by_id)
        .join(PromoBatch, PromoBatch.id == PromoCode.batch_id)
        .order_by(PromoCode.claimed_at, PromoCode.id)
        .execution_options(yield_per=1000)
    )
    for username, code, batch, claimed_at, expires_at in result:
        yield (
            username,
            code,
            batch,
            claimed_at.isoformat() if claimed_at else "",
            expires_at.isoformat(),
            deadline.describe(expires_at, short=True),
        )


def write(session: Session, out: TextIO) -> int:
    """Write the CSV to `out`; returns the number of claims written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for row in rows(session):
        writer.writerow([safe_cell(v) for v in row])
        count += 1
    return count


def as_text(session: Session) -> tuple[str, int]:
    buffer = io.StringIO()
    count = write(session, buffer)
    return buffer.getvalue(), count
