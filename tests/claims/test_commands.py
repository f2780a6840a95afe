"""The operator's pool commands: codes piped in, claims written to a file."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from giveaway import clock, db
from giveaway.claims.models import PromoCode
from tests.factories import events_of, give_code, make_batch, make_maintainer


def test_load_codes_reads_the_codes_piped_in(app, runner):
    with app.app_context():
        expires = (clock.now() + timedelta(days=90)).date().isoformat()
    result = runner.invoke(
        args=["load-codes", "-", "--batch", "piped", "--expires", expires, "--keys-per-code", "1"],
        input="code\nPIPE-0001\nPIPE-0002\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Loaded 2 codes into batch 'piped' (usable until the end of ")
    assert result.output.rstrip().endswith("(UTC), 1 keys a code, no store address).")
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PromoCode)) == 2


def test_load_codes_piped_in_with_a_bad_line_loads_nothing(app, runner):
    with app.app_context():
        expires = (clock.now() + timedelta(days=90)).date().isoformat()
    result = runner.invoke(
        args=["load-codes", "-", "--batch", "piped", "--expires", expires],
        input="PIPE-0001\nnot a code\n",
    )
    assert result.exit_code == 1
    assert "-: 1 problems, nothing loaded:" in result.output
    assert "line 2: code 'not a code' has characters other than" in result.output
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PromoCode)) == 0


def test_export_claims_to_a_file_says_where_it_went(app, runner, tmp_path):
    make_batch(app, "spring", codes=["SPRING-CODE-1", "SPRING-CODE-2"])
    maria = make_maintainer(app, "maria")
    give_code(app, maria, "SPRING-CODE-2")
    target = tmp_path / "claims.csv"
    result = runner.invoke(args=["export-claims", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert f"Exported 1 claims to {target}." in result.output
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "username,code,batch,claimed_at,expires_at,usable_until"
    assert lines[1].startswith("maria,SPRING-CODE-2,spring,")
    assert len(lines) == 2
    [event] = events_of(app, "claim:claims_exported")
    assert event.detail == {"claims": 1, "via": "cli"}
