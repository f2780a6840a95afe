"""Codes typed in the digits of other scripts: read as the number meant, never a 500.

A TOTP code in Arabic-Indic or Devanagari digits once reached
hmac.compare_digest, which refuses non-ASCII text: a 500 on the set-up page and
on the second step of sign-in.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest

from giveaway.inputs import ascii_digits
from giveaway.twofactor import totp
from tests.twofactor.conftest import reload_user
from tests.twofactor.test_totp import confirm, setup_page_secret

NOW = datetime(2026, 3, 2, 12, 0, 15, tzinfo=UTC)

# Each script's digits 0-9, to write an ASCII code in them.
SCRIPTS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "eastern-arabic": "۰۱۲۳۴۵۶۷۸۹",
    "devanagari": "०१२३४५६७८९",
    "bengali": "০১২৩৪৫৬৭৮৯",
    "full-width": "０１２３４５６７８９",
}


def written_in(script: str, code: str) -> str:
    digits = SCRIPTS[script]
    return "".join(digits[int(c)] if c.isdigit() else c for c in code)


@pytest.fixture
def fixed_clock(app):  # type: ignore[no-untyped-def]
    app.config["CLOCK"] = lambda: NOW
    return NOW


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_setup_accepts_a_code_in_other_digits(app, flow, alice, fixed_clock, script):
    flow.password("alice")
    secret = setup_page_secret(flow)
    response = confirm(flow, written_in(script, pyotp.TOTP(secret).at(NOW)))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert reload_user(app, "alice").totp_secret == secret


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_sign_in_accepts_a_code_in_other_digits(app, flow, fixed_clock, script):
    from tests.conftest import make_user

    secret = pyotp.random_base32()
    make_user(app, "tariq", totp_secret=secret, first_2fa_enabled_at=NOW)
    flow.password("tariq")
    response = flow.signin_totp(written_in(script, pyotp.TOTP(secret).at(NOW)))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert flow.signed_in_as() == "tariq"


@pytest.mark.parametrize(
    "typed",
    ["١٢٣٤٥x", "¹²³⁴⁵⁶", "𝟏𝟐𝟑𝟒𝟓𝟔𝟕", "١٢٣\u0000٤٥٦", "一二三四五六", "Ⅻ", "٣" * 16],
)
def test_odd_digits_get_a_message_not_a_500(app, flow, fixed_clock, typed):
    from tests.conftest import make_user

    secret = pyotp.random_base32()
    make_user(app, "tariq", totp_secret=secret, first_2fa_enabled_at=NOW)
    flow.password("tariq")
    response = flow.signin_totp(typed)
    assert response.status_code == 400, response.status_code
    page = response.get_data(as_text=True)
    assert "not right" in page or "NUL character" in page or "six-digit" in page


def test_the_service_refuses_non_ascii_digits_instead_of_raising():
    secret = pyotp.random_base32()
    typed = written_in("devanagari", pyotp.TOTP(secret).at(NOW))
    assert totp.matching_step(secret, typed, NOW, None) is None
    assert totp.matching_step(secret, ascii_digits(typed), NOW, None) is not None


def test_recovery_code_in_full_width_letters_and_digits(app, flow, fixed_clock):
    from giveaway import db
    from giveaway.accounts.models import User
    from giveaway.twofactor import recovery
    from tests.conftest import make_user

    secret = pyotp.random_base32()
    make_user(app, "tariq", totp_secret=secret, first_2fa_enabled_at=NOW)
    with app.test_request_context():
        s = db.session()
        codes = recovery.generate_recovery_codes(s, s.get(User, reload_user(app, "tariq").id))
        db.commit()
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in codes[0].upper())
    flow.password("tariq")
    response = flow.signin_recovery(full_width)
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("٣", "3"), ("१२", "12"), ("１０", "10"), ("12", "12"), ("a٣b", "a3b"), (None, None)],
)
def test_ascii_digits(typed, meant):
    assert ascii_digits(typed) == meant
