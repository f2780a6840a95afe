"""Numbers, dates and codes typed in other scripts' digits, on every page that parses them.

Read as the number meant where that is the intent, or refused with a message:
never a 500. (The TOTP and recovery-code forms are in tests/twofactor/test_digits.py.)
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from tests.conftest import csrf_token, login_2fa
from tests.factories import make_admin

ARABIC = "٠١٢٣٤٥٦٧٨٩"
DEVANAGARI = "०१२३४५६७८९"


def written(digits: str, text: str) -> str:
    return "".join(digits[int(c)] if c.isdigit() else c for c in text)


@pytest.fixture
def admin(app):  # type: ignore[no-untyped-def]
    make_admin(app, "root")
    client = app.test_client()
    login_2fa(client, "root")
    return client


@pytest.mark.parametrize("digits", [ARABIC, DEVANAGARI])
def test_a_batch_upload_with_a_date_and_a_number_in_other_digits(admin, digits):
    expires = (date.today() + timedelta(days=90)).isoformat()
    response = admin.post(
        "/admin/batches/upload",
        data={
            "csrf_token": csrf_token(admin, "/admin/batches"),
            "file": (io.BytesIO(b"WEB-1\nWEB-2\n"), "codes.txt"),
            "name": "digits",
            "vendor": "KeyVendor",
            "keys_per_code": written(digits, "2"),
            "expires": written(digits, expires),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Every line is good" in html
    assert expires in html


@pytest.mark.parametrize("digits", [ARABIC, DEVANAGARI])
def test_the_events_filter_reads_dates_in_other_digits(admin, digits):
    response = admin.get("/admin/events?since=" + written(digits, "2026-01-01"))
    assert response.status_code == 200
    assert "is not a date" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users?page=" + written(ARABIC, "2"),
        "/admin/events?page=" + written(DEVANAGARI, "3"),
        "/admin/users/" + written(ARABIC, "1"),
        "/admin/events?since=²⁰²⁶-⁰¹-⁰¹",
        "/admin/events?until=" + "٣" * 40,
        "/admin/critical?page=" + "٩" * 30,
    ],
)
def test_other_digits_in_urls_are_never_a_500(admin, path):
    assert admin.get(path).status_code < 500, path


def test_a_void_with_a_code_in_full_width_digits(app, admin):
    from tests.factories import make_batch

    make_batch(app, codes=["VOID-1234"])
    response = admin.post(
        "/admin/codes/void",
        data={
            "csrf_token": csrf_token(admin, "/admin/batches"),
            "code": "VOID-１２３４",
            "reason": "sent to the wrong person",
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
