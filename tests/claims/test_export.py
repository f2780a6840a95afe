"""export-claims and the admin CSV: the same rows, safe from spreadsheet formulas."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from giveaway import clock, db
from giveaway.claims.export import safe_cell
from giveaway.claims.models import PromoCode
from giveaway.events.models import Event
from tests.factories import make_admin, make_batch, make_user


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_safe_cell(value, expected):  # type: ignore[no-untyped-def]
    assert safe_cell(value) == expected


def _seed(app):  # type: ignore[no-untyped-def]
    make_batch(app, '=HYPERLINK("http://evil")', codes=["-CODE-1", "CODE-2"])
    evil = make_user(app, "@evil")
    plain = make_user(app, "plain")
    with app.app_context():
        session = db.session()
        codes = {c.code: c for c in session.scalars(select(PromoCode))}
        codes["-CODE-1"].claimed_by_id = evil.id
        codes["-CODE-1"].claimed_at = clock.now()
        codes["CODE-2"].claimed_by_id = plain.id
        codes["CODE-2"].claimed_at = clock.now()
        session.commit()


def _check_csv(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["username", "code", "batch", "claimed_at", "expires_at", "usable_until"]
    assert len(rows) == 3
    by_user = {r[0]: r for r in rows[1:]}
    assert by_user["'@evil"][1] == "'-CODE-1"
    assert by_user["'@evil"][2] == '\'=HYPERLINK("http://evil")'
    assert by_user["plain"][1] == "CODE-2"
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_cli_export(app, runner):  # type: ignore[no-untyped-def]
    _seed(app)
    result = runner.invoke(args=["export-claims"])
    assert result.exit_code == 0
    _check_csv(result.stdout)
    assert "Exported 2 claims" in result.stderr


def test_admin_export_is_the_same_csv(app, client, auth, runner):  # type: ignore[no-untyped-def]
    _seed(app)
    make_admin(app, "root")
    auth.login_with_totp("root")
    response = client.get("/admin/claims.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    _check_csv(response.get_data(as_text=True))
    assert response.get_data(as_text=True) == runner.invoke(args=["export-claims"]).stdout
    with app.app_context():
        kinds = db.session().scalars(select(Event.kind)).all()
        assert kinds.count("claim:claims_exported") == 2


def test_claims_page_masks_codes(app, client, auth):  # type: ignore[no-untyped-def]
    _seed(app)
    make_admin(app, "root")
    auth.login_with_totp("root")
    html = client.get("/admin/claims").get_data(as_text=True)
    assert "@evil" in html and "plain" in html
    assert "-CODE-1" not in html and "CODE-2" not in html
    assert "-C…-1" in html and "C…<" in html
