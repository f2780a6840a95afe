"""The pool: validating a file of promo codes and adding it as a batch, all or nothing.

The admin page and `giveaway load-codes` share `validate` (every problem, with
its line number) and `add_batch` (one transaction; nothing is written unless
every code is good). The admin page shows a preview first: `stage_upload`
keeps the validated codes, `confirm_upload` adds them once confirmed.
Blank (or white-space only) lines are skipped and counted, never a problem.
`batch_counts` counts each batch's codes by state and `void` takes a free code
out of the pool; the states themselves (claimed, voided, expired, available)
are defined once, in lifecycle.py.
"""

from __future__ import annotations

import csv
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, insert, label, select, update
from sqlalchemy.orm import Session

from giveaway import db
from giveaway.accounts.models import User
from giveaway.badrows import BadRow, BadRows
from giveaway.claims import deadline
from giveaway.claims.lifecycle import empty_counts
from giveaway.claims.models import PromoBatch, PromoCode, UploadPreview, mask
from giveaway.events import service as events

CODE_RE = re.compile(r"[A-Za-z0-9-]+")
MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 100
MAX_STORE_URL_LENGTH = 500
HEADER_NAMES = {"code", "codes", "promo_code", "promo code", "promocode"}
# More problems than this are counted, not listed one by one.
MAX_LISTED_PROBLEMS = 500


# One shape for a bad line, shared with the other importers.
Problem = BadRow


@dataclass
class Report:
    codes: list[str] = field(default_factory=list)
    bad: BadRows = field(default_factory=lambda: BadRows(MAX_LISTED_PROBLEMS))
    lines: int = 0
    blank_lines: int = 0
    header_skipped: bool = False
    line_of: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.bad and bool(self.codes)

    def add(self, line: int | None, message: str) -> None:
        self.bad.add(line, message)

    @property
    def problems(self) -> list[Problem]:
        return self.bad.listed

    @property
    def problem_count(self) -> int:
        return self.bad.count

    @property
    def unlisted(self) -> int:
        return self.bad.unlisted


@dataclass(frozen=True)
class BatchDetails:
    name: str
    vendor: str
    keys_per_code: int
    expires_at: datetime
    # Where the codes are redeemed (https); None: the vendor tells claimants.
    store_url: str | None = None


def decode(raw: bytes, max_bytes: int) -> tuple[str | None, list[Problem]]:
    """The file as text, or the reason it is not acceptable."""
    if len(raw) > max_bytes:
        return None, [
            Problem(None, f"The file is larger than {max_bytes:,} bytes; split it into batches.")
        ]
    if b"\x00" in raw:
        return None, [Problem(None, "The file is not text (it contains NUL bytes).")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [
            Problem(None, f"The file is not UTF-8 text (undecodable byte at offset {exc.start}).")
        ]
    return text, []


def parse_codes(text: str) -> Report:
    """Every code of `text` (one a line, or CSV with the code first) and every problem."""
    report = Report()
    lines = text.splitlines()
    report.lines = len(lines)
    seen: dict[str, int] = {}
    first_line = True
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            # A trailing newline too many, a gap between pasted lists: nothing to add.
            report.blank_lines += 1
            continue
        header_candidate, first_line = first_line, False
        if "," in line or '"' in line:
            try:
                row = next(csv.reader([line]))
            except csv.Error as exc:
                report.add(number, f"not a readable CSV row ({exc})")
                continue
            value = (row[0] if row else "").strip()
        else:
            value = line.strip()
        if header_candidate and value.lower() in HEADER_NAMES:
            report.header_skipped = True
            continue
        if not value:
            report.add(number, "no code in the first column")
            continue
        shown = value if len(value) <= 40 else value[:37] + "…"
        if len(value) > MAX_CODE_LENGTH:
            report.add(number, f"code {shown!r} is longer than {MAX_CODE_LENGTH} characters")
            continue
        if not CODE_RE.fullmatch(value):
            bad = sorted({c for c in value if not CODE_RE.fullmatch(c)})
            report.add(
                number,
                f"code {shown!r} has characters other than letters, digits and '-': "
                + " ".join(repr(c) for c in bad),
            )
            continue
        if value in seen:
            # Valid-looking codes are never echoed in full (admin pages mask codes).
            report.add(number, f"code {mask(value)} is already on line {seen[value]}")
            continue
        seen[value] = number
        report.line_of[value] = number
        report.codes.append(value)
    return report


def check_database(session: Session, report: Report) -> None:
    """Add a problem for every code that is already in the database."""
    existing: set[str] = set()
    for start in range(0, len(report.codes), 500):
        chunk = report.codes[start : start + 500]
        existing.update(session.scalars(select(PromoCode.code).where(PromoCode.code.in_(chunk))))
    if not existing:
        return
    for code in report.codes:
        if code in existing:
            report.add(report.line_of.get(code), f"code {mask(code)} is already in the database")
    report.codes = [c for c in report.codes if c not in existing]


def clean_store_url(value: str | None) -> str | None:
    """The store address as it is stored: trimmed, None when not given."""
    value = (value or "").strip()
    return value or None


def store_url_problem(value: str | None) -> str | None:
    """Why `value` is not a store address claimants can be sent to, or None."""
    value = clean_store_url(value)
    if value is None:
        return None
    if len(value) > MAX_STORE_URL_LENGTH:
        return f"The store address is longer than {MAX_STORE_URL_LENGTH} characters."
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return "The store address has spaces or control characters in it."
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return f"The store address {value!r} is not a web address."
    if parts.scheme.lower() != "https":
        return "The store address must start with https:// (claimants are sent there to pay)."
    if not host or "." not in host.strip("."):
        return f"The store address {value!r} has no host name like shop.example.com."
    if parts.username is not None or parts.password is not None:
        return "The store address must not carry a user name or password."
    return None


def validate_details(
    session: Session,
    name: str,
    vendor: str,
    keys_per_code: int,
    expires_at: datetime | None,
    now: datetime,
    store_url: str | None = None,
) -> list[Problem]:
    problems = []
    name = name.strip()
    if not name:
        problems.append(Problem(None, "Give the batch a name."))
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(
            Problem(None, f"The batch name is longer than {MAX_NAME_LENGTH} characters.")
        )
    elif session.scalar(select(func.count()).where(func.lower(PromoBatch.name) == name.lower())):
        problems.append(Problem(None, f"There is already a batch named {name!r}."))
    if len(vendor.strip()) > MAX_NAME_LENGTH:
        problems.append(Problem(None, f"The vendor is longer than {MAX_NAME_LENGTH} characters."))
    if not 1 <= keys_per_code <= 10:
        problems.append(Problem(None, "Keys per code must be between 1 and 10."))
    if expires_at is None:
        problems.append(Problem(None, "Give the date the codes expire."))
    elif expires_at <= now:
        problems.append(
            Problem(None, "The expiry date is in the past: codes would never be usable.")
        )
    problem = store_url_problem(store_url)
    if problem:
        problems.append(Problem(None, problem))
    return problems


def expiry_from_date(value: date | datetime | str) -> datetime:
    """A batch's expiry from the day entered: the END of that day in the giveaway's
    time zone (deadline.py), or the given moment."""
    return deadline.expiry_from_input(value)


def validate(
    session: Session,
    raw: bytes,
    details: BatchDetails,
    now: datetime,
    *,
    max_bytes: int,
) -> Report:
    """Everything wrong with this upload; `report.ok` when it can be added as it is."""
    text, file_problems = decode(raw, max_bytes)
    if text is None:
        report = Report()
        for p in file_problems:
            report.add(p.line, p.message)
    else:
        report = parse_codes(text)
        check_database(session, report)
        if not report.codes and not report.problem_count:
            report.add(None, "The file has no codes.")
    for p in validate_details(
        session,
        details.name,
        details.vendor,
        details.keys_per_code,
        details.expires_at,
        now,
        details.store_url,
    ):
        report.add(p.line, p.message)
    return report


def add_batch(
    session: Session,
    codes: list[str],
    details: BatchDetails,
    admin: User | None,
    now: datetime,
) -> PromoBatch:
    """Insert the batch and all its codes (validated already) in the caller's transaction."""
    batch = PromoBatch(
        name=details.name.strip(),
        vendor=details.vendor.strip(),
        keys_per_code=details.keys_per_code,
        expires_at=details.expires_at,
        store_url=clean_store_url(details.store_url),
        uploaded_by_id=admin.id if admin else None,
        uploaded_at=now,
        code_count=len(codes),
    )
    session.add(batch)
    session.flush()
    rows: list[dict[str, Any]] = [
        {"code": c, "batch_id": batch.id, "expires_at": details.expires_at} for c in codes
    ]
    for start in range(0, len(rows), 1000):
        session.execute(insert(PromoCode), rows[start : start + 1000])
    events.record(
        session,
        "claim:batch_uploaded",
        None,
        actor=admin,
        batch=batch.name,
        batch_id=batch.id,
        codes=len(codes),
        vendor=batch.vendor,
        expires_at=details.expires_at.isoformat(),
        store_url=batch.store_url,
    )
    return batch


# --- the admin page's upload: preview, then confirm -------------------------------------


def stage_upload(
    session: Session,
    report: Report,
    details: BatchDetails,
    admin: User,
    now: datetime,
    max_age: timedelta,
) -> UploadPreview:
    """Keep a validated upload until the admin confirms it (previews older than
    `max_age`, which nobody confirmed, are dropped on the way)."""
    session.execute(delete(UploadPreview).where(UploadPreview.created_at < now - max_age))
    preview = UploadPreview(
        token=secrets.token_urlsafe(32),
        created_by_id=admin.id,
        created_at=now,
        batch_name=details.name,
        vendor=details.vendor,
        keys_per_code=details.keys_per_code,
        expires_at=details.expires_at,
        store_url=clean_store_url(details.store_url),
        blank_lines=report.blank_lines,
        content="\n".join(report.codes),
    )
    session.add(preview)
    return preview


def staged_upload(
    session: Session, token: str, admin: User, now: datetime, max_age: timedelta
) -> UploadPreview | None:
    """The admin's own preview under `token`, unless it expired or was confirmed already."""
    return session.scalar(
        select(UploadPreview).where(
            UploadPreview.token == token,
            UploadPreview.created_by_id == admin.id,
            UploadPreview.created_at >= now - max_age,
        )
    )


def preview_details(preview: UploadPreview) -> BatchDetails:
    """The batch a staged upload describes."""
    return BatchDetails(
        preview.batch_name,
        preview.vendor,
        preview.keys_per_code,
        preview.expires_at,
        preview.store_url,
    )


@dataclass(frozen=True)
class Confirmation:
    details: BatchDetails
    report: Report
    batch: PromoBatch | None  # None: the report says why nothing was added


def confirm_upload(
    session: Session, preview: UploadPreview, admin: User, now: datetime
) -> Confirmation:
    """Add the previewed batch, checked again (another batch may have taken a name or a
    code since the preview). An IntegrityError means a concurrent upload won: the
    caller rolls back."""
    details = preview_details(preview)
    content = preview.content.encode()
    report = validate(session, content, details, now, max_bytes=max(len(content), 1))
    report.blank_lines = preview.blank_lines
    if not report.ok:
        return Confirmation(details, report, None)
    batch = add_batch(session, report.codes, details, admin, now)
    session.delete(preview)
    session.flush()
    return Confirmation(details, report, batch)


# --- counts, from the states in lifecycle.py -----------------------------------


def batch_counts(session: Session, now: datetime) -> dict[int, dict[str, int]]:
    """Per batch: available, claimed, expired and voided codes at `now` (one query)."""
    # Grouped over a subquery: the state's bound `now` then appears once.
    states = select(
        PromoCode.batch_id.label("batch_id"), label("state", PromoCode.state(now))
    ).subquery()
    counts: dict[int, dict[str, int]] = {}
    for batch_id, state, n in session.execute(
        select(states.c.batch_id, states.c.state, func.count()).group_by(
            states.c.batch_id, states.c.state
        )
    ):
        counts.setdefault(batch_id, empty_counts())[state] = n
    return counts


# --- voiding -----------------------------------------------------------------------


class VoidRefused(Exception):
    """The code cannot be voided; `message` says why, `conflict` when a claim won a race."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.conflict = conflict


def void(session: Session, value: str, reason: str, actor: User | None, now: datetime) -> PromoCode:
    """Take a free code out of the pool for good (it was leaked, say); raises VoidRefused.

    A claimed code stays with its claimant. The UPDATE is conditional, so a
    claim landing at the same moment wins and the void does not.
    """
    reason = reason.strip()
    code = session.scalar(select(PromoCode).where(PromoCode.code == value.strip()))
    if code is None:
        raise VoidRefused("There is no such code.")
    if code.is_voided:
        raise VoidRefused("This code is already voided.")
    if code.is_claimed:
        raise VoidRefused("This code was claimed; a claimed code stays with its claimant.")
    result = session.execute(
        update(PromoCode)
        .where(PromoCode.id == code.id, ~PromoCode.is_claimed, ~PromoCode.is_voided)
        .values(voided_at=now, void_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if not db.affected_rows(result):
        raise VoidRefused("This code was claimed a moment ago; it was not voided.", conflict=True)
    events.record(
        session,
        "claim:code_voided",
        None,
        actor=actor,
        code=mask(code.code),
        batch_id=code.batch_id,
        reason=reason,
    )
    return code
