"""Recovery codes: random, shown once, stored as keyed hashes, single-use.

A set replaces the one before; the first set needs no password (it comes
right after adding a first method), a new set does. A set counts as saved
only once one of its codes has been typed back (as PyPI asks): being shown
the codes once proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.accounts.service import lock_account
from giveaway.events import service as events
from giveaway.twofactor import status
from giveaway.twofactor.changes import TwoFactorError, check_password, notify
from giveaway.twofactor.models import RecoveryCode

# 80 random bits each, written as four groups of four base32 letters.
CODE_BYTES = 10
_SEPARATORS = re.compile(r"[\s-]")


def generate(count: int) -> list[str]:
    codes = []
    for _unused in range(count):
        raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, len(raw), 4)))
    return codes


def normalize(code: str) -> str:
    """Lower case without separators; 0 and 1 (not in base32) read as o and l."""
    return _SEPARATORS.sub("", code or "").lower().replace("0", "o").replace("1", "l")


def digest(code: str) -> str:
    """HMAC-SHA256 keyed with the app's secret key.

    The codes are random (80 bits), so a fast hash is enough; the key means a
    stolen table alone is useless. Rotating SECRET_KEY voids existing codes.
    """
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode() if isinstance(key, str) else key
    return hmac.new(
        key_bytes, b"giveaway.recovery-code:" + normalize(code).encode(), hashlib.sha256
    ).hexdigest()


def looks_like_code(code: str) -> bool:
    return len(normalize(code)) == 16


# --- the account's recovery codes ------------------------------------------------------


def generate_recovery_codes(session: Session, user: User) -> list[str]:
    """New codes, replacing every older one; the plain codes are returned once."""
    # Two requests at once (a double submit) must not both add a set: the
    # second waits, then deletes the set the first made.
    lock_account(session, user)
    if not status.has_2fa(user):
        raise TwoFactorError(
            _(
                "Add a security key or an authenticator app first: recovery codes are a "
                "backup for them."
            )
        )
    replaced = db.affected_rows(
        session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    )
    codes = generate(current_app.config["RECOVERY_CODE_COUNT"])
    now = clock.now()
    for code in codes:
        session.add(RecoveryCode(user_id=user.id, code_hash=digest(code), created_at=now))
    session.flush()
    events.record(
        session, "2fa:recovery_codes_generated", user, count=len(codes), replaced=replaced
    )
    notify(user, "twofactor_added", method="recovery_codes", replaced=bool(replaced))
    return codes


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    """True (and the code used up) when `code` is one of the user's unused codes."""
    if not looks_like_code(code):
        events.record(session, "login:2fa_failure", user, method="recovery_code", reason="format")
        return False
    used = db.affected_rows(
        session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == digest(code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=clock.now())
            .execution_options(synchronize_session=False)
        )
    )
    if used != 1:
        events.record(
            session, "login:2fa_failure", user, method="recovery_code", reason="wrong code"
        )
        return False
    left = status.recovery_codes_left(session, user)
    events.record(session, "2fa:recovery_code_used", user, left=left)
    notify(user, "twofactor_recovery_used", left=left)
    return True


def recovery_codes_low(session: Session, user: User) -> bool:
    """True when codes exist but few are left (the page warns)."""
    left = status.recovery_codes_left(session, user)
    total = session.scalar(
        select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
    )
    return bool(total) and left <= current_app.config["RECOVERY_CODES_LOW"]


def password_needed(session: Session, user: User) -> bool:
    """Replacing a set asks for the password; the first set does not (it comes right
    after adding a first method, with the password just typed at sign-in)."""
    return status.has_recovery_codes(session, user)


def new_set(session: Session, user: User, password: str | None) -> list[str]:
    """A new set of codes for `user`, after the password when `password_needed`;
    raises TwoFactorError."""
    if password_needed(session, user):
        if not password:
            raise TwoFactorError(
                _("Enter your password to replace your recovery codes."), field="password"
            )
        check_password(user, password)
    return generate_recovery_codes(session, user)


def confirm_saved(session: Session, user: User, code: str) -> bool:
    """True (and the set marked saved) when `code` is one of the user's unused codes.

    Typing a code back proves the set was kept somewhere; the code is not used up.
    """
    if not looks_like_code(code):
        return False
    matched = session.scalar(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if matched is None:
        return False
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.confirmed_at.is_(None))
        .values(confirmed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    events.record(session, "2fa:recovery_codes_confirmed", user)
    return True


def download_name(site_name: str, username: str) -> str:
    """The file name of the downloaded codes: the site's and the person's names."""
    return f"{_slug(site_name)}-{_slug(username)}-recovery-codes.txt"


def as_text(codes: list[str], *, site_name: str, username: str, made_at: datetime) -> str:
    """The codes as a plain text file to keep (download, print or paste)."""
    lines = [
        _("%(site_name)s: recovery codes for %(username)s", site_name=site_name, username=username),
        _(
            "Made %(moment)s UTC. Each code signs you in once; a new set replaces this one.",
            moment=f"{made_at:%Y-%m-%d %H:%M}",
        ),
        "",
        *codes,
        "",
    ]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "account"


def due_after_adding(session: Session, user: User, *, had_2fa_before: bool) -> bool:
    """True when a method was just added to an account that had none and has no
    recovery codes: the person is taken to make their first set next."""
    return not had_2fa_before and not status.has_recovery_codes(session, user)
