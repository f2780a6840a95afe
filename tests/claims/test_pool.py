"""Uploading batches of codes: every problem with its line, all or nothing, on the page and the CLI."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from giveaway import clock, db
from giveaway.claims import pool
from giveaway.claims.models import PromoBatch, PromoCode, UploadPreview
from giveaway.events.models import Event
from tests.conftest import csrf_token
from tests.factories import make_admin, make_batch, make_user

FUTURE = (date.today() + timedelta(days=90)).isoformat()


def _validate(app, raw: bytes, **overrides):  # type: ignore[no-untyped-def]
    with app.app_context():
        details = pool.BatchDetails(
            name=overrides.get("name", "spring"),
            vendor="KeyVendor",
            keys_per_code=overrides.get("keys", 2),
            expires_at=pool.expiry_from_date(overrides.get("expires", FUTURE)),
        )
        return pool.validate(
            db.session(), raw, details, clock.now(), max_bytes=overrides.get("max_bytes", 2_000_000)
        )


def _problems(report) -> list[tuple[int | None, str]]:  # type: ignore[no-untyped-def]
    return [(p.line, p.message) for p in report.problems]


def test_a_good_file(app):  # type: ignore[no-untyped-def]
    report = _validate(app, b"AAAA-1111\nBBBB-2222\r\ncccc3333\n")
    assert report.ok and report.codes == ["AAAA-1111", "BBBB-2222", "cccc3333"]


def test_csv_with_header_and_extra_columns(app):  # type: ignore[no-untyped-def]
    report = _validate(app, b'code,note\nAAAA-1,first\n"BBBB-2",second\n')
    assert report.ok and report.header_skipped
    assert report.codes == ["AAAA-1", "BBBB-2"]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"AAAA-1\nBBBB-2\nAAAA-1\n", 3, "already on line 1"),
        (b"AAAA-1\nBB BB\n", 2, "characters other than"),
        (b"AAAA-1\nBBBB_2\n", 2, "'_'"),
        (b"AAAA-1\n=HYPERLINK(1)\n", 2, "characters other than"),
        (b"AAAA-1\n" + b"C" * 65 + b"\n", 2, "longer than 64"),
        (",second\n", 1, "no code"),
    ],
)
def test_line_problems(app, content, line, words):  # type: ignore[no-untyped-def]
    raw = content if isinstance(content, bytes) else content.encode()
    report = _validate(app, raw)
    assert not report.ok
    assert any(p.line == line and words in p.message for p in report.problems), _problems(report)


def test_codes_already_in_the_database(app):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["OLD-1", "OLD-CODE-2"])
    report = _validate(app, b"NEW-1\nOLD-CODE-2\nNEW-2\n")
    assert _problems(report) == [(2, "code OL…-2 is already in the database")]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"AAAA\x00BBBB\n", "NUL"),
        (b"\xff\xfeA\x00", "NUL"),
        (b"caf\xe9\n", "not UTF-8"),
        (b"", "no codes"),
    ],
)
def test_not_a_text_file(app, raw, words):  # type: ignore[no-untyped-def]
    report = _validate(app, raw)
    assert not report.ok
    assert any(words in p.message for p in report.problems), _problems(report)


def test_file_too_big(app):  # type: ignore[no-untyped-def]
    report = _validate(app, b"A-1\n" * 100, max_bytes=50)
    assert not report.ok and "larger than 50 bytes" in report.problems[0].message


def test_every_problem_is_listed(app):  # type: ignore[no-untyped-def]
    report = _validate(app, b"A-1\n\nA-1\nb c\n" + b"X" * 70 + b"\nGOOD-2\n")
    # Line 2 is blank: skipped, not a problem.
    assert [p.line for p in report.problems] == [3, 4, 5]
    assert report.blank_lines == 1


def test_batch_field_problems(app):  # type: ignore[no-untyped-def]
    make_batch(app, "taken")
    report = _validate(app, b"A-1\n", name="Taken", keys=0, expires="2001-01-01")
    messages = " ".join(p.message for p in report.problems)
    assert "already a batch named" in messages
    assert "between 1 and 10" in messages
    assert "in the past" in messages


# --- the CLI ----------------------------------------------------------------------


def _count_codes(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session().scalar(select(func.count(PromoCode.id))) or 0


def test_cli_loads_a_batch(app, runner, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "codes.txt"
    path.write_text("\n".join(f"CLI-{i:04d}" for i in range(300)) + "\n")
    result = runner.invoke(
        args=["load-codes", str(path), "--batch", "cli-1", "--expires", FUTURE, "--vendor", "V"]
    )
    assert result.exit_code == 0, result.output
    assert "Loaded 300 codes into batch 'cli-1'" in result.output
    assert _count_codes(app) == 300
    with app.app_context():
        batch = db.session().scalar(select(PromoBatch))
        assert batch.keys_per_code == 2 and batch.vendor == "V" and batch.code_count == 300
        # The date given is the last day: the codes stop at its end (UTC by default).
        assert batch.expires_at == pool.expiry_from_date(FUTURE)
        assert batch.expires_at.isoformat() == (
            (date.fromisoformat(FUTURE) + timedelta(days=1)).isoformat() + "T00:00:00+00:00"
        )


def test_cli_refuses_a_bad_file_and_lists_every_problem(app, runner, tmp_path):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["DUP-IN-DB"])
    path = tmp_path / "codes.csv"
    path.write_text("GOOD-1\n\nGOOD-1\nbad code\nDUP-IN-DB\nGOOD-2\n")
    result = runner.invoke(args=["load-codes", str(path), "--batch", "b", "--expires", FUTURE])
    assert result.exit_code == 1
    for expected in ("line 3:", "line 4:", "line 5:", "3 problems"):
        assert expected in result.output
    assert "nothing loaded" in result.output
    assert _count_codes(app) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--batch", "x", "--expires", "soon"],
        ["--batch", "x", "--expires", "2001-01-01"],
        ["--batch", "x", "--expires", FUTURE, "--keys-per-code", "0"],
    ],
)
def test_cli_bad_options(app, runner, tmp_path, args):  # type: ignore[no-untyped-def]
    path = tmp_path / "codes.txt"
    path.write_text("A-1\n")
    result = runner.invoke(args=["load-codes", str(path), *args])
    assert result.exit_code == 1
    assert _count_codes(app) == 0


def test_cli_missing_file(app, runner, tmp_path):  # type: ignore[no-untyped-def]
    result = runner.invoke(
        args=["load-codes", str(tmp_path / "nope.txt"), "--batch", "x", "--expires", FUTURE]
    )
    assert result.exit_code == 1 and "cannot read" in result.output


# --- the admin page: upload, preview, confirm ---------------------------------------


@pytest.fixture
def admin_client(app, client, auth):  # type: ignore[no-untyped-def]
    make_admin(app, "root")
    auth.login_with_totp("root")
    return client


def _upload(client, content: bytes, name="web-batch", expires=FUTURE, keys="2"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/admin/batches")
    return client.post(
        "/admin/batches/upload",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(content), "codes.txt"),
            "name": name,
            "vendor": "KeyVendor",
            "keys_per_code": keys,
            "expires": expires,
        },
        content_type="multipart/form-data",
    )


def test_upload_preview_then_confirm(app, admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"WEB-1\nWEB-2\nWEB-3\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Every line is good" in html and "Add batch" in html
    assert _count_codes(app) == 0  # nothing before the confirmation
    token = re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    confirmed = admin_client.post(
        "/admin/batches/confirm", data={"csrf_token": csrf, "token": token}
    )
    assert confirmed.status_code == 303
    assert _count_codes(app) == 3
    page = admin_client.get("/admin/batches").get_data(as_text=True)
    assert "web-batch" in page and "added with 3 codes" in page
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count(UploadPreview.id))) == 0
        event = session.scalar(select(Event).where(Event.kind == "claim:batch_uploaded"))
        assert event.detail["codes"] == 3 and event.actor_id is not None
    # The same confirmation again adds nothing.
    again = admin_client.post("/admin/batches/confirm", data={"csrf_token": csrf, "token": token})
    assert again.status_code == 400
    assert _count_codes(app) == 3


def test_upload_with_problems_shows_them_and_adds_nothing(app, admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"W-1\n\nW-1\nw 2\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was added" in html
    assert "already on line 1" in html and "characters other than" in html
    assert "1 blank line skipped" in html
    assert "Add the batch" not in html
    assert _count_codes(app) == 0


def test_upload_of_a_binary_file(app, admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"\x89PNG\r\n\x1a\n\x00\x00")
    assert response.status_code == 400
    assert "not text" in response.get_data(as_text=True)


def test_upload_too_big(app, admin_client):  # type: ignore[no-untyped-def]
    app.config["CODE_UPLOAD_MAX_BYTES"] = 100
    response = _upload(admin_client, b"CODE-1234\n" * 50)
    assert response.status_code == 400
    assert "larger than 100 bytes" in response.get_data(as_text=True)


def test_upload_form_errors(app, admin_client):  # type: ignore[no-untyped-def]
    response = _upload(admin_client, b"A-1\n", name="", expires="not-a-date")
    assert response.status_code == 400
    assert "Give the batch a name" in response.get_data(as_text=True)


def test_codes_added_between_preview_and_confirm_are_caught(app, admin_client):  # type: ignore[no-untyped-def]
    html = _upload(admin_client, b"RACE-1\nRACE-2\n").get_data(as_text=True)
    token = re.search(r'name="token"[^>]*value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    make_batch(app, codes=["RACE-2"])
    response = admin_client.post(
        "/admin/batches/confirm", data={"csrf_token": csrf, "token": token}
    )
    assert response.status_code == 400
    assert "already in the database" in response.get_data(as_text=True)
    assert _count_codes(app) == 1


def test_batches_page_counts(app, admin_client):  # type: ignore[no-untyped-def]
    now = clock.now()
    make_batch(app, "live", codes=["L-1", "L-2", "L-3", "L-4"])
    make_batch(app, "gone", codes=["G-1"], expires_at=now - timedelta(days=1))
    maria = make_user(app, "maria")
    with app.app_context():
        session = db.session()
        codes = {c.code: c for c in session.scalars(select(PromoCode))}
        codes["L-1"].claimed_by_id = maria.id
        codes["L-1"].claimed_at = now
        codes["L-2"].voided_at = now
        session.commit()
    with app.app_context():
        from giveaway.claims.pool import batch_counts

        counts = batch_counts(db.session(), now)
    assert sorted(counts.values(), key=lambda c: c["available"]) == [
        {"available": 0, "claimed": 0, "expired": 1, "voided": 0},
        {"available": 2, "claimed": 1, "expired": 0, "voided": 1},
    ]
    html = admin_client.get("/admin/batches").get_data(as_text=True)
    assert "live" in html and "gone" in html
    # Codes are never shown in full on admin pages.
    assert "L-1" not in html.replace("L-1<", "")


def test_void_a_code(app, admin_client):  # type: ignore[no-untyped-def]
    make_batch(app, codes=["VOIDME-123"])
    from tests.conftest import post_form

    response = post_form(
        admin_client,
        "/admin/codes/void",
        {"code": "VOIDME-123", "reason": "printed in a blog post"},
        page="/admin/batches",
    )
    assert response.status_code == 303
    with app.app_context():
        session = db.session()
        code = session.scalar(select(PromoCode))
        assert code.voided_at is not None and code.void_reason == "printed in a blog post"
        event = session.scalar(select(Event).where(Event.kind == "claim:code_voided"))
        assert event.detail["code"] == "VO…23" and event.detail["reason"]
    again = post_form(
        admin_client,
        "/admin/codes/void",
        {"code": "VOIDME-123", "reason": "x"},
        page="/admin/batches",
    )
    assert again.status_code == 400
    missing = post_form(
        admin_client, "/admin/codes/void", {"code": "NOPE", "reason": "x"}, page="/admin/batches"
    )
    assert missing.status_code == 400 and "no such code" in missing.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/batches"),
        ("get", "/admin/claims"),
        ("get", "/admin/claims.csv"),
        ("post", "/admin/batches/upload"),
        ("post", "/admin/batches/confirm"),
        ("post", "/admin/codes/void"),
    ],
)
def test_admin_pages_are_for_admins(app, client, auth, method, path):  # type: ignore[no-untyped-def]
    make_user(app, "maria")
    auth.login("maria")
    app.config["WTF_CSRF_ENABLED"] = False  # so that a POST reaches the access check
    assert getattr(client, method)(path).status_code == 403
    anonymous = app.test_client()
    assert getattr(anonymous, method)(path).status_code in (302, 401)


def test_upload_needs_csrf(app, admin_client):  # type: ignore[no-untyped-def]
    response = admin_client.post(
        "/admin/batches/upload",
        data={
            "file": (io.BytesIO(b"A-1\n"), "c.txt"),
            "name": "n",
            "keys_per_code": "2",
            "expires": FUTURE,
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303  # back to the batches page with why
    assert response.headers["Location"] == "/admin/batches"
    assert _count_codes(app) == 0
