"""Every page through axe-core (no serious or critical violation), and the
claim done with the keyboard alone.

axe-core is pinned in package.json and installed into node_modules by
`make test`; outside CI a missing copy skips these tests, under CI=true it fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import steps
from tests.conftest import require
from tests.factories import (
    ADMIN_TOTP_SECRET,
    TEST_PASSWORD,
    make_admin,
    make_batch,
    make_maintainer,
    make_project,
    make_user,
)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def page(browser: Any, live_server: Any):  # type: ignore[no-untyped-def]
    """Like the shared page, but axe (an inline script) may be injected: the
    portal's CSP forbids inline scripts, so this context bypasses it."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def axe_problems(page: Any) -> list[str]:
    """Serious and critical violations on the page now, one line each (and
    landmark-unique, moderate, which a wrongly named region would trip)."""
    require(AXE.exists(), f"{AXE} is missing: run `npm ci` (make test does)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in result["violations"]:
        if violation["impact"] not in ("serious", "critical") and violation["id"] not in (
            "landmark-unique",
        ):
            continue
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        lines.append(
            f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} "
            f"at {targets}"
        )
    return lines


def visit(page: Any, path: str, problems: list[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 500, f"{path}: {response and response.status}"
    problems.extend(axe_problems(page))


def sign_in(page: Any, username: str, totp_secret: str | None = None) -> None:
    steps.sign_in(page, username, totp_secret=totp_secret)
    page.wait_for_url(re.compile(r".*/account/?$"))


def sign_out(page: Any) -> None:
    page.context.clear_cookies()


def test_anonymous_pages(page, live_server):  # type: ignore[no-untyped-def]
    problems: list[str] = []
    for path in (
        "/",
        "/account/login",
        "/account/register",
        "/account/reset",
        "/account/reset/not-a-token",
        "/account/activate/not-a-token",
        "/account/verify/not-a-token",
        "/giveaway",
        "/no-such-page",
    ):
        visit(page, path, problems)
    # A form showing its errors.
    page.goto("/account/register")
    page.get_by_role("button", name=re.compile("Create", re.I)).click()
    problems.extend(axe_problems(page))
    page.goto("/account/login")
    page.fill("#username", "nobody")
    page.fill("#password", "wrong-password-here")
    page.get_by_role("button", name="Sign in").click()
    problems.extend(axe_problems(page))
    assert not problems, "\n".join(problems)


def test_reset_and_second_step_pages(page, live_server):  # type: ignore[no-untyped-def]
    from giveaway.accounts import tokens

    app = live_server.app
    user = make_user(app, "alice")
    make_admin(app, "root")
    with app.test_request_context():
        token = tokens.make(user, tokens.Purpose.RESET_PASSWORD)
    problems: list[str] = []
    visit(page, f"/account/reset/{token}", problems)
    page.goto("/account/login")
    page.fill("#username", "root")
    page.fill("#password", TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/account/login/2fa$"))
    problems.extend(axe_problems(page))
    page.fill("input[name=code]", "000000")
    page.get_by_role("button", name="Verify code").click()
    problems.extend(axe_problems(page))
    assert not problems, "\n".join(problems)


def test_maintainer_pages_and_giveaway_states(page, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    problems: list[str] = []
    # Not eligible (no critical project), no codes yet.
    make_user(app, "plain")
    sign_in(page, "plain")
    for path in (
        "/account/",
        "/account/security",
        "/account/security/totp",
        "/account/security/recovery-codes",
        "/account/history",
        "/account/delete",
        "/giveaway",
        "/admin/",  # the 403 page
    ):
        visit(page, path, problems)
    sign_out(page)
    # Eligible but the pool is empty.
    make_maintainer(app, "maria")
    sign_in(page, "maria")
    visit(page, "/giveaway", problems)
    visit(page, "/account/", problems)
    # Codes arrive: the claim form, a region that is not shipped to, a code.
    make_batch(app, codes=["A11Y-CODE-0001"])
    visit(page, "/giveaway", problems)
    page.get_by_role("button", name="Claim my code").click()  # no region: the error
    problems.extend(axe_problems(page))
    page.get_by_label("Where would the keys be shipped?").select_option("CH")
    page.get_by_role("button", name="Claim my code").click()
    assert page.text_content("#promo-code") == "A11Y-CODE-0001"
    problems.extend(axe_problems(page))
    assert not problems, "\n".join(problems)


def test_admin_pages(page, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    admin = make_admin(app, "root")
    maria = make_maintainer(app, "maria")
    make_project(app, "flask", maintainers=[(maria, "Maintainer")], critical=True)
    make_batch(app, codes=["ADMIN-A11Y-0001", "ADMIN-A11Y-0002"])
    with app.app_context():  # a claim, so the claims page has rows
        from giveaway import clock, db
        from giveaway.accounts.models import User
        from giveaway.claims import claim

        session = db.session()
        claim.claim(session, session.get(User, maria.id), clock.now())
        session.commit()
    problems: list[str] = []
    sign_in(page, "root", ADMIN_TOTP_SECRET)
    paths = [
        "/admin/",
        "/admin/users",
        "/admin/users?q=nobody-at-all",
        f"/admin/users/{maria.id}",
        f"/admin/users/{admin.id}",
        f"/admin/users/{maria.id}/delete",
        "/admin/events",
        "/admin/events?since=not-a-date",
        "/admin/batches",
        "/admin/claims",
        "/admin/critical",
        "/admin/imports",
    ]
    for rule in live_server.app.url_map.iter_rules():
        wanted = rule.rule.startswith("/admin") and "GET" in rule.methods
        plain = not rule.arguments and not rule.rule.endswith(".csv")
        if wanted and plain and rule.rule not in paths:
            paths.append(rule.rule)
    for path in paths:
        visit(page, path, problems)
    assert not problems, "\n".join(problems)


def test_every_get_page_is_covered():  # type: ignore[no-untyped-def]
    """A new page must be added to one of the visits above."""
    from giveaway import create_app

    covered = {
        "/",
        "/healthz",
        "/account/",
        "/account/login",
        "/account/register",
        "/account/reset",
        "/account/reset/<token>",
        "/account/activate/<token>",
        "/account/verify/<token>",
        "/account/login/2fa",
        "/account/security",
        "/account/security/totp",
        "/account/security/recovery-codes",
        "/account/security/recovery-codes/confirm",  # the visitor journeys walk it
        "/giveaway",
        "/giveaway/setup",  # the walkthrough's own browser tests
        "/admin/users/<int:user_id>",
        "/account/history",
        "/account/delete",
        "/metrics",  # Prometheus text for a scraper, not a page
    }
    app = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://", "TESTING": True})
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint != "static"
        and not rule.rule.startswith("/admin")
        and not rule.rule.endswith(".csv")
        and rule.rule not in covered
    ]
    assert not missing, f"pages no accessibility test visits: {missing}"


def tab_to(page: Any, selector: str, *, limit: int = 60, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until `selector` has the focus."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_the_claim_with_the_keyboard_alone(page, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_batch(app, codes=["KEYBOARD-CODE-1"])
    make_maintainer(app, "maria")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    # Signing in, by keyboard too.
    page.goto("/account/login")
    tab_to(page, "#username")
    page.keyboard.type("maria")
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/account/?$"))
    page.goto("/giveaway")
    tab_to(page, "select[name=region]")
    # Arrow keys move through the countries; type-ahead picks one.
    page.keyboard.press("ArrowDown")
    page.keyboard.type("Switz")
    assert page.eval_on_selector("select[name=region]", "s => s.value") == "CH"
    tab_to(page, "form[action$='/giveaway/claim'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#promo-code")
    assert page.text_content("#promo-code") == "KEYBOARD-CODE-1"
    # The copy button, reached with the keyboard and pressed with Space.
    tab_to(page, "button[data-copy-target]")
    page.keyboard.press("Space")
    page.wait_for_selector("#copy-status:not(:empty)", timeout=5_000)
    assert page.evaluate("navigator.clipboard.readText()") == "KEYBOARD-CODE-1"
    # And back with Shift+Tab: the focus is never trapped.
    tab_to(page, "a", backwards=True)
    assert not axe_problems(page)


def test_pages_with_keys_codes_and_upload_previews(page, live_server, virtual_keys):  # type: ignore[no-untyped-def]
    app = live_server.app
    make_admin(app, "root")
    problems: list[str] = []
    sign_in(page, "root", ADMIN_TOTP_SECRET)
    # A security key in the table, then new recovery codes.
    virtual_keys.plug_in()
    page.goto("/account/security")
    page.fill("#key-label", "Desk key")
    page.locator("[data-webauthn-start]:enabled").click()
    page.wait_for_selector("text=Desk key")
    problems.extend(axe_problems(page))
    page.goto("/account/security/recovery-codes")
    problems.extend(axe_problems(page))
    if page.locator("#password").count():
        page.fill("#password", TEST_PASSWORD)
    page.get_by_role("button", name=re.compile("recovery codes", re.I)).click()
    page.wait_for_selector("[data-recovery-codes]")
    problems.extend(axe_problems(page))
    # An upload with problems, then a good one up to its preview.
    for content in (b"GOOD-CODE-1\nbad code!\nGOOD-CODE-1\n", b"GOOD-CODE-1\nGOOD-CODE-2\n"):
        page.goto("/admin/batches")
        page.set_input_files(
            "input[type=file]",
            {"name": "codes.txt", "mimeType": "text/plain", "buffer": content},
        )
        page.fill("input[name=name]", f"Batch {len(content)}")
        page.fill("input[name=expires]", "2099-01-01")
        page.locator("form[action$='/admin/batches/upload'] button[type=submit]").click()
        page.wait_for_load_state()
        problems.extend(axe_problems(page))
    # Void form errors.
    page.goto("/admin/batches")
    page.locator("form[action$='/admin/codes/void'] button[type=submit]").click()
    page.wait_for_load_state()
    problems.extend(axe_problems(page))
    assert not problems, "\n".join(problems)
