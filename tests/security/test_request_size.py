"""Oversized input costs nothing: refused by size before it is read, or by length before it is parsed.

A 15 MB email address once cost 8 s of CPU: the request size limit (16 MB)
let it in, and the address check ran although the length check had failed.
"""

from __future__ import annotations

import time

import pytest

from giveaway.accounts import service
from tests.conftest import post_form


def _register(client, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "username": "newbie",
        "email": "newbie@example.org",
        "password": "a-long-test-passphrase",
        "password_confirm": "a-long-test-passphrase",
    }
    return post_form(client, "/account/register", data | fields)


def test_a_15_mb_email_is_refused_before_it_is_read(app, client):
    started = time.process_time()
    response = _register(client, email="a" * (15 * 1024 * 1024) + "@example.org")
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)
    assert time.process_time() - started < 2


def test_the_limit_still_fits_the_largest_form(app):
    assert app.config["MAX_CONTENT_LENGTH"] >= 2 * app.config["CODE_UPLOAD_MAX_BYTES"]


@pytest.fixture
def address_checks(monkeypatch):  # type: ignore[no-untyped-def]
    """Every address the (slow) address check is asked about."""
    seen: list[int] = []
    real = service.validate_email

    def counting(email, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(len(email))
        return real(email, **kwargs)

    monkeypatch.setattr(service, "validate_email", counting)
    return seen


@pytest.mark.parametrize("size", [255, 300_000, 1_500_000])
def test_an_address_over_its_length_is_not_parsed(app, client, address_checks, size):
    started = time.process_time()
    response = _register(client, email="a" * size + "@example.org")
    assert response.status_code == 400
    assert "at most 254 characters" in response.get_data(as_text=True)
    assert address_checks == []
    assert time.process_time() - started < 2


def test_an_address_within_its_length_is_still_checked(app, client, address_checks):
    response = _register(client, email="not-an-address")
    assert response.status_code == 400
    assert address_checks == [len("not-an-address")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "u" * 1_000_000),
        ("password", "p" * 1_000_000),
    ],
)
def test_other_fields_over_their_length_are_cheap(app, client, address_checks, field, value):
    fields = {field: value}
    if field == "password":
        fields["password_confirm"] = value
    started = time.process_time()
    response = _register(client, **fields)
    assert response.status_code == 400
    assert time.process_time() - started < 2


def test_the_service_refuses_an_overlong_address_without_parsing_it(app, address_checks):
    from giveaway import db

    with app.test_request_context():
        problems, _ = service.registration_problems(
            db.session(), "newbie", "a" * 100_000 + "@example.org", "a-long-test-passphrase"
        )
    assert "at most 254 characters" in problems.fields["email"][0]
    assert address_checks == []
    with pytest.raises(ValueError, match="longer than"):
        service.normalize_email("a" * 100_000 + "@example.org")
    assert address_checks == []
