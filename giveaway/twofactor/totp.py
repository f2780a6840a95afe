"""TOTP (RFC 6238), an authenticator app: the one module that computes codes (with
pyotp), and the account's rules for setting one up, removing it and signing in.

Codes are six digits over 30-second steps. One step of clock drift either way
is accepted; a step, once used, is never accepted again (User.totp_last_step
keeps the last one, moved forward by a conditional UPDATE).
"""

from __future__ import annotations

import base64
import hmac
import io
import re
from datetime import datetime

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.accounts.service import lock_account
from giveaway.events import service as events
from giveaway.twofactor.changes import (
    TwoFactorError,
    after_removal,
    check_password,
    mark_enabled,
    notify,
    require_giving_up_keys,
    require_verified_email,
)

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
# ASCII only: \d would also match ٤ or ४, which hmac.compare_digest refuses.
_CODE_RE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """A random base32 secret of 160 bits, as RFC 4226 recommends."""
    return pyotp.random_base32(32)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_at(secret: str, at: datetime) -> str:
    """The code for the time step containing `at` (for tests and demos)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(time_step(at))


def normalize(code: str) -> str:
    """Digits only: people paste codes with spaces ("123 456")."""
    return re.sub(r"[\s-]", "", code or "")


def matching_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to, if it is valid now and newer than `last_step`."""
    code = normalize(code)
    if not _CODE_RE.match(code):
        return None
    generator = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(at)
    found = None
    # Compare every candidate (no early exit) so timing says nothing.
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(generator.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (the CSP allows img data:)."""
    buffer = io.BytesIO()
    # A standalone SVG (with its namespace): an <img> will not draw one without.
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def grouped(secret: str) -> str:
    """The secret in groups of four for typing by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- the account's authenticator app ----------------------------------------------------


def totp_issuer() -> str:
    return current_app.config["TOTP_ISSUER"] or current_app.config["SITE_NAME"]


def new_totp_secret(user: User) -> str:
    require_verified_email(user)
    if user.totp_secret:
        raise TwoFactorError(_("An authenticator app is already set up on your account."))
    return new_secret()


def enable_totp(
    session: Session, user: User, secret: str, code: str, *, give_up_keys: bool = False
) -> None:
    """Turn TOTP on once the person proves the app has `secret`.

    `give_up_keys`: they confirmed giving up the free keys they could still claim."""
    require_verified_email(user)
    # A claim in another tab checks "never had 2FA" under the same lock.
    lock_account(session, user)
    if user.totp_secret:
        raise TwoFactorError(_("An authenticator app is already set up on your account."))
    require_giving_up_keys(session, user, give_up_keys)
    step = matching_step(secret, code, clock.now(), None)
    if step is None:
        raise TwoFactorError(
            _(
                "That code is not right. Check the time on your phone, then enter the "
                "current code from the app."
            ),
            field="code",
        )
    user.totp_secret = secret
    user.totp_last_step = step
    mark_enabled(user)
    events.record(session, "2fa:totp_enabled", user)
    notify(user, "twofactor_added", method="totp")


def remove_totp(session: Session, user: User, password: str) -> None:
    check_password(user, password)
    lock_account(session, user)
    if not user.totp_secret:
        raise TwoFactorError(_("No authenticator app is set up on your account."))
    user.totp_secret = None
    user.totp_last_step = None
    session.flush()
    dropped = after_removal(session, user)
    events.record(session, "2fa:totp_removed", user)
    notify(user, "twofactor_removed", method="totp", none_left=dropped)


def verify_totp(session: Session, user: User, code: str) -> bool:
    """True (and the step used up) when `code` is a fresh valid code of `user`."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code, clock.now(), user.totp_last_step)
    if step is None:
        events.record(session, "login:2fa_failure", user, method="totp", reason="wrong code")
        return False
    accepted = db.affected_rows(
        session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session="fetch")
        )
    )
    if accepted != 1:
        events.record(session, "login:2fa_failure", user, method="totp", reason="code reused")
        return False
    return True
