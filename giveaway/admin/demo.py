"""The admin area's demo step: a history worth plotting, and a way into the admin pages.

Synthetic maintainers of critical projects claim codes over the last weeks, some
register keys, and four weeks of adoption snapshots lead up to today's real
figure. The demo admin gets TOTP and recovery codes (admin pages need 2FA); the
demo's printout shows the secret (from the database, on every run) and the
recovery codes (once, when they are made).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from giveaway import clock
from giveaway.accounts.models import User
from giveaway.admin import insight
from giveaway.admin.models import AdoptionSnapshot
from giveaway.claims import pool
from giveaway.claims.demo import demo_code
from giveaway.claims.models import PromoCode
from giveaway.projects.models import Project, Role, RoleName
from giveaway.twofactor import recovery, totp
from giveaway.twofactor.models import RecoveryCode, WebAuthnCredential

MAINTAINERS = 48
PROJECTS = 12
HISTORY_DAYS = 21
SNAPSHOT_DAYS = 28
EARLY_BATCH_CODES = 80


def _quiet(_line: str) -> None:
    pass


def admin_2fa(session: Session, username: str) -> list[str]:
    """TOTP and recovery codes for the demo admin; the plain recovery codes."""
    admin = session.scalar(select(User).where(User.username == username))
    if admin is None:
        return []
    now = clock.now()
    secret = totp.new_secret()
    admin.totp_secret = secret
    admin.first_2fa_enabled_at = now
    codes = recovery.generate(current_app.config["RECOVERY_CODE_COUNT"])
    for code in codes:
        session.add(RecoveryCode(user_id=admin.id, code_hash=recovery.digest(code), created_at=now))
    return codes


def _fake_key(user_id: int, label: str, created: datetime) -> WebAuthnCredential:
    # Stand-ins for keys registered in a browser: they count, they cannot sign in.
    return WebAuthnCredential(
        user_id=user_id,
        credential_id=secrets.token_bytes(32),
        public_key=secrets.token_bytes(77),
        sign_count=0,
        label=label,
        transports=["usb"],
        aaguid="00000000-0000-0000-0000-000000000000",
        created_at=created,
    )


def history(session: Session, say: Callable[[str], None] = _quiet) -> str:
    """Maintainers, claims over the last weeks, keys, and adoption snapshots.

    Says each part as it is made; returns what the step made.
    """
    rng = random.Random(2026)  # noqa: S311 - demo data, not security
    now = clock.now()
    start = now - timedelta(days=HISTORY_DAYS)
    created = now - timedelta(days=800)
    projects = []
    for i in range(PROJECTS):
        name = f"demo-critical-{i + 1:02d}"
        project = Project(
            name=name,
            display_name=name,
            created_at=created,
            critical_since=start - timedelta(days=30),
            critical_rank=i + 10,
            critical_downloads=50_000_000 - i * 1_000_000,
        )
        session.add(project)
        projects.append(project)
    users = []
    for i in range(MAINTAINERS):
        user = User(
            username=f"dev{i + 1:02d}",
            email=f"dev{i + 1:02d}@example.org",
            email_verified_at=created,
            created_at=created,
        )
        session.add(user)
        users.append(user)
    session.flush()
    for i, user in enumerate(users):
        role = RoleName.OWNER if i % 3 else RoleName.MAINTAINER
        session.add(Role(user_id=user.id, project_id=projects[i % PROJECTS].id, role_name=role))
    # A few maintainers had an authenticator app before the giveaway.
    for user in users[-6:]:
        user.totp_secret = totp.new_secret()
        user.first_2fa_enabled_at = start - timedelta(days=rng.randint(30, 300))

    codes: set[str] = set()
    while len(codes) < EARLY_BATCH_CODES:
        codes.add(demo_code())
    details = pool.BatchDetails(
        name="Early batch",
        vendor="Example Keys Inc.",
        keys_per_code=2,
        expires_at=now + timedelta(days=40),
    )
    batch = pool.add_batch(session, sorted(codes), details, None, start)
    session.flush()
    say(
        f"    {MAINTAINERS} maintainers of {PROJECTS} more critical projects, a batch of {EARLY_BATCH_CODES} codes"
    )
    free = list(
        session.scalars(
            select(PromoCode.id).where(PromoCode.batch_id == batch.id).order_by(PromoCode.id)
        )
    )
    claimants = users[:30]
    claims = 0
    for n, (user, code_id) in enumerate(zip(claimants, free, strict=False)):
        # Most claims come in the first days, then a trickle.
        offset = min(HISTORY_DAYS - 0.05, rng.expovariate(1 / 4.0) + n * 0.15)
        claimed_at = start + timedelta(days=offset)
        session.execute(
            update(PromoCode)
            .where(PromoCode.id == code_id)
            .values(claimed_by_id=user.id, claimed_at=claimed_at, receipt_queued_at=claimed_at)
        )
        claims += 1
        # Keys arrive about a week later; not everyone gets to them.
        if n % 5 == 4 or claimed_at > now - timedelta(days=7):
            continue
        arrived = min(now, claimed_at + timedelta(days=rng.uniform(5, 9)))
        session.add(_fake_key(user.id, "USB-A key", arrived))
        user.first_2fa_enabled_at = arrived
        if n % 4 != 3:
            session.add(_fake_key(user.id, "USB-C key", arrived + timedelta(minutes=4)))
            if n % 3 != 2:
                for code in recovery.generate(3):
                    session.add(
                        RecoveryCode(
                            user_id=user.id,
                            code_hash=recovery.digest(code),
                            created_at=arrived + timedelta(minutes=6),
                            confirmed_at=arrived + timedelta(minutes=7),
                        )
                    )
    session.flush()
    say(f"    {claims} claims over {HISTORY_DAYS} days, and the keys registered since")

    # Today's snapshot is real; the weeks before are synthetic, rising towards it.
    today, _ = insight.record_snapshot(session, now)
    base_any = max(0, today.with_any - 22)
    for back in range(SNAPSHOT_DAYS - 1, 0, -1):
        day = (now - timedelta(days=back)).date()
        progress = (SNAPSHOT_DAYS - back) / SNAPSHOT_DAYS
        with_key = round(today.with_key * progress**1.5)
        with_totp = max(0, today.with_totp - (1 if back > 20 else 0))
        with_both = min(today.with_both, with_key, with_totp)
        session.add(
            AdoptionSnapshot(
                day=day,
                maintainers=today.maintainers,
                with_key=with_key,
                with_totp=with_totp,
                with_both=with_both,
                with_any=max(base_any, with_key + with_totp - with_both),
                recorded_at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=5),
            )
        )
    return (
        f"{MAINTAINERS} synthetic maintainers of {PROJECTS} more critical projects, "
        f"{claims} claims over {HISTORY_DAYS} days, {SNAPSHOT_DAYS} days of adoption snapshots"
    )
