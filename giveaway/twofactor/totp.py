"""TOTP (RFC 6238): the one module that computes codes, with pyotp.

Codes are six digits over 30-second steps. One step of clock drift either way
is accepted; a step, once used, is never accepted again (the caller stores the
last one in User.totp_last_step).
"""

from __future__ import annotations

import base64
import hmac
import io
import re
from datetime import datetime

import pyotp
import segno

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
