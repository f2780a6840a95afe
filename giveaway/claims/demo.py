"""The giveaway's demo step: a batch of codes, and maria eligible to claim one."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.claims import deadline, pool
from giveaway.projects.models import Project

DEMO_CODES = 50
DEMO_DAYS = 60
# A made-up store on a domain reserved for examples (RFC 2606): nothing is bought.
DEMO_STORE_URL = "https://keys.example.com/giveaway"
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def demo_code() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))


def _quiet(_line: str) -> None:
    pass


def giveaway_demo(session: Session, say: Callable[[str], None] = _quiet) -> str:
    """A batch of codes, and maria's project critical; what the step made."""
    now = clock.now()
    project = session.scalar(select(Project).where(Project.name == "requests-toolbelt"))
    if project is not None and project.critical_since is None:
        # The critical-projects step normally does this; make sure maria qualifies.
        project.critical_since = now
        project.critical_rank = project.critical_rank or 1
    codes: set[str] = set()
    while len(codes) < DEMO_CODES:
        codes.add(demo_code())
    # As an admin would enter it: the last day, which ends at midnight in the
    # giveaway's time zone.
    last_day = (now.astimezone(deadline.zone()) + timedelta(days=DEMO_DAYS)).date()
    details = pool.BatchDetails(
        name="Launch batch",
        vendor="Example Keys Inc.",
        keys_per_code=2,
        expires_at=deadline.end_of_day(last_day),
        store_url=DEMO_STORE_URL,
    )
    batch = pool.add_batch(session, sorted(codes), details, None, now)
    return f"the {batch.name}: {DEMO_CODES} promo codes of {batch.vendor}"
