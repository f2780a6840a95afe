"""`giveaway demo`: a ready database, kept across runs, and a printout that agrees with the pages."""

from __future__ import annotations

import re

import sqlalchemy as sa

from giveaway import db, demo
from giveaway.accounts.models import User
from giveaway.claims import deadline
from giveaway.claims.models import PromoCode
from giveaway.projects.models import Project
from tests.conftest import AuthActions, login, post_form


def _secret(output: str) -> str:
    match = re.search(r"the secret ((?:[A-Z2-7]{4} ?)+)", output)
    assert match, output
    return match.group(1).replace(" ", "")


def _recovery_codes(output: str) -> list[str]:
    return re.findall(r"\b[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}\b", output)


def test_demo_builds_data_and_prints_how_to_sign_in(any_app):
    runner = any_app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "/account/login" in result.output
    for username, _email, password in (demo.ADMIN, demo.MAINTAINER):
        assert username in result.output and password in result.output
        client = any_app.test_client()
        assert login(client, username, password).status_code == 302
    with any_app.app_context():
        admin = db.session().scalar(sa.select(User).where(User.username == demo.ADMIN[0]))
        assert admin.is_admin and admin.email_verified
        names = set(db.session().scalars(sa.select(Project.name)))
        assert {"requests-toolbelt", "flask-tiny-utils"} <= names
        users = db.session().scalar(sa.select(sa.func.count()).select_from(User))
    # Running it again keeps the demo instead of failing on duplicates.
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    with any_app.app_context():
        assert db.session().scalar(sa.select(sa.func.count()).select_from(User)) == users


def test_progress_is_shown_step_by_step_with_counts(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Building the demo database in " in out
    steps = re.findall(r"\[(\d)/(\d)\] ", out)
    assert [int(n) for n, _ in steps] == [1, 2, 3, 4, 5]
    # The long import says each month as it goes.
    assert len(re.findall(r"downloads of \d{4}-\d{2} imported \(\d of 6 months\)", out)) == 6
    assert "3 accounts, 4 projects, 5 roles" in out
    assert re.search(r"Built in \d+\.\d s\.", out)
    # Progress comes before the sign-in details.
    assert out.index("[5/5]") < out.index("Sign in at")


def test_a_second_run_keeps_claims_and_the_admin_secret(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    secret = _secret(first.output)
    codes = _recovery_codes(first.output)
    assert len(codes) == app.config["RECOVERY_CODE_COUNT"]
    # maria claims a code and the admin adds the secret to an authenticator app.
    maria = app.test_client()
    assert login(maria, "maria", demo.MAINTAINER[2]).status_code == 302
    claimed = post_form(maria, "/giveaway/claim", {"region": "FR"}, page="/giveaway")
    assert claimed.status_code == 303
    admin = AuthActions(app.test_client())
    admin.login_with_totp("admin", demo.ADMIN[2], secret=secret)
    with app.app_context():
        mine = db.session().scalar(
            sa.select(PromoCode.code)
            .where(PromoCode.claimed_by_id.is_not(None))
            .where(PromoCode.claimed_by.has(username="maria"))
        )
    assert mine

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "Using the demo database in " in second.output
    assert "(make demo-reset to start over)" in second.output
    assert "Building" not in second.output
    assert _secret(second.output) == secret
    # The plain recovery codes were shown once; now their number, and how to get more.
    assert _recovery_codes(second.output) == []
    assert f"the {len(codes)} unused recovery codes" in second.output
    assert "/account/security" in second.output
    assert f"maria has claimed {mine}" in second.output
    with app.app_context():
        owner = db.session().scalar(sa.select(PromoCode).where(PromoCode.code == mine))
        assert owner.claimed_by.username == "maria"
    # The same authenticator entry still signs the admin in.
    AuthActions(app.test_client()).login_with_totp("admin", demo.ADMIN[2], secret=secret)


def test_reset_starts_over_with_a_new_secret(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    reset = runner.invoke(args=["demo", "--reset"])
    assert reset.exit_code == 0, reset.output
    assert "Building the demo database" in reset.output
    assert _secret(reset.output) != _secret(first.output)
    assert len(_recovery_codes(reset.output)) == app.config["RECOVERY_CODE_COUNT"]


def test_a_database_with_other_accounts_is_left_alone(app):
    from tests.factories import make_user

    make_user(app, "someone")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1
    assert "holds accounts that are not the demo's" in result.output
    assert "giveaway demo --reset" in result.output
    with app.app_context():
        assert list(db.session().scalars(sa.select(User.username))) == ["someone"]


def test_printed_figures_are_what_the_pages_show(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    out = result.output
    secret = _secret(out)
    printed_critical = int(re.search(r"critical projects: (\d+) ", out).group(1))
    printed_left = int(re.search(r"promo codes: (\d+) left to hand out", out).group(1))
    use_before = re.search(
        r"maria can claim a code at /giveaway: .*to use before (.+?) \(in \d+ days\)", out
    )
    assert use_before, out

    admin = app.test_client()
    AuthActions(admin).login_with_totp("admin", demo.ADMIN[2], secret=secret)
    listed = admin.get("/admin/critical").get_data(as_text=True)
    assert f"of {printed_critical} critical projects" in listed
    with app.app_context():
        session = db.session()
        # Both the designation run and the admin's history made projects critical.
        assert printed_critical == session.scalar(
            sa.select(sa.func.count())
            .select_from(Project)
            .where(Project.critical_since.is_not(None))
        )
        assert printed_critical > 5

    maria = app.test_client()
    assert login(maria, "maria", demo.MAINTAINER[2]).status_code == 302
    assert (
        post_form(maria, "/giveaway/claim", {"region": "FR"}, page="/giveaway").status_code == 303
    )
    page = maria.get("/giveaway").get_data(as_text=True)
    assert use_before.group(1).strip() in page
    with app.app_context():
        session = db.session()
        mine = session.scalar(
            sa.select(PromoCode).where(PromoCode.claimed_by.has(username="maria"))
        )
        assert deadline.describe(mine.expires_at) == use_before.group(1).strip()
        left = session.scalar(
            sa.select(sa.func.count())
            .select_from(PromoCode)
            .where(PromoCode.claimed_by_id.is_(None))
        )
    assert left == printed_left - 1
