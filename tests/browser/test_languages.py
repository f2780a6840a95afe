"""The portal in its maintainers' languages, in a real browser.

- every maintainer page passes axe-core in every shipped language, with the
  page's `lang` naming it, and fits a 375 px phone screen;
- German (the longest words) keeps every page within a 375 px phone screen;
- a maintainer whose browser speaks Japanese claims a code and registers a
  key, told everything in Japanese at every turn.

What the person is told is looked up in the shipped catalogs (`told`), so a
sentence changed in English and left untranslated fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale, gettext, ngettext

from tests.browser.conftest import VirtualKeys
from tests.browser.steps import SCREENS, fits_the_screen, text_of
from tests.browser.test_accessibility import axe_problems
from tests.factories import TEST_PASSWORD, enable_totp, make_batch, make_maintainer, make_user
from tests.i18n.test_every_page import LOCALES

pytestmark = pytest.mark.browser


def told(app: Flask, locale: str, message: str, **values: object) -> str:
    """`message` as the catalog of `locale` words it (it must be translated)."""
    with app.test_request_context(), force_locale(locale):
        words = gettext(message, **values)
    assert words != message % values if values else words != message, (locale, message)
    return " ".join(words.split())


def told_plural(app: Flask, locale: str, one: str, many: str, count: int) -> str:
    """`one`/`many` for `count` (as %(num)d) in the catalog of `locale`."""
    with app.test_request_context(), force_locale(locale):
        words = ngettext(one, many, count)
    assert words not in (one % {"num": count}, many % {"num": count}), (locale, one)
    return " ".join(words.split())


def new_tab(browser: Any, live_server: Any, *, locale: str, **options: Any) -> Any:
    """A tab of a browser set to `locale` (Accept-Language and navigator.language)."""
    context = browser.new_context(base_url=live_server.url, locale=locale, **options)
    context.set_default_timeout(10_000)
    return context.new_page()


def sign_in(tab: Any, username: str) -> None:
    """The sign-in form in any language: its fields by id, its one submit button."""
    tab.goto("/account/login")
    tab.fill("#username", username)
    tab.fill("#password", TEST_PASSWORD)
    tab.locator("main form button[type=submit]").click()
    tab.wait_for_url(re.compile(r".*/account/?$"))


def maintainer_with_codes(app: Flask, username: str) -> None:
    make_maintainer(app, username)
    make_batch(app, codes=[f"LANG-{username.upper()}-1"], store_url="https://keys.example.com/r")


def claim(tab: Any, region: str) -> None:
    tab.goto("/giveaway")
    tab.select_option("select[name=region]", region)
    tab.locator("form[action$='/giveaway/claim'] button[type=submit]").click()
    tab.locator("#promo-code").wait_for()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_page_passes_axe_in_each_language(browser, live_server, locale):  # type: ignore[no-untyped-def]
    app = live_server.app
    maintainer_with_codes(app, "maria")
    # On a phone: every language's longer words must fit it too.
    tab = new_tab(browser, live_server, locale=locale, bypass_csp=True, viewport=SCREENS["narrow"])
    problems: list[str] = []

    def visit(path: str | None = None) -> None:
        if path:
            tab.goto(path)
        assert tab.evaluate("document.documentElement.lang") == locale, tab.url
        fits_the_screen(tab)
        problems.extend(axe_problems(tab))

    for path in ("/", "/account/login", "/account/register", "/account/reset", "/giveaway"):
        visit(path)
    sign_in(tab, "maria")
    for path in ("/account/", "/giveaway", "/giveaway/setup", "/account/security"):
        visit(path)
    tab.goto("/giveaway")
    tab.locator("form[action$='/giveaway/claim'] button[type=submit]").click()  # no region
    visit()
    claim(tab, "FR")
    visit()
    for path in ("/giveaway/setup", "/account/", "/account/history", "/no-such-page"):
        visit(path)
    tab.context.close()
    assert not problems, "\n".join(problems)


def test_german_fits_a_phone_screen(browser, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    maintainer_with_codes(app, "maria")
    tab = new_tab(browser, live_server, locale="de-DE", viewport=SCREENS["narrow"])
    seen = []

    def check(path: str | None = None) -> None:
        if path:
            tab.goto(path)
        assert tab.evaluate("document.documentElement.lang") == "de"
        fits_the_screen(tab)
        seen.append(tab.url)

    for path in ("/", "/account/login", "/account/register", "/account/reset", "/giveaway"):
        check(path)
    sign_in(tab, "maria")
    for path in (
        "/account/",
        "/giveaway",
        "/giveaway/setup",
        "/account/security",
        "/account/security/totp",
        "/account/history",
        "/account/delete",
    ):
        check(path)
    claim(tab, "AT")
    check()
    for path in (
        "/giveaway/setup",
        "/account/",
        "/account/security/recovery-codes",
        "/account/security/recovery-codes/confirm",
        "/no-such-page",
    ):
        check(path)
    # The second step of signing in, for someone with an authenticator app.
    tab.context.clear_cookies()
    enable_totp(app, make_user(app, "jonas"))
    tab.goto("/account/login")
    tab.fill("#username", "jonas")
    tab.fill("#password", TEST_PASSWORD)
    tab.locator("main form button[type=submit]").click()
    tab.wait_for_url("**/account/login/2fa")
    check()
    tab.context.close()
    assert len(seen) == 19


def test_a_maintainer_in_japan_claims_and_registers_a_key_in_japanese(browser, live_server):  # type: ignore[no-untyped-def]
    app = live_server.app
    maintainer_with_codes(app, "kenji")
    tab = new_tab(browser, live_server, locale="ja-JP", viewport=SCREENS["narrow"])
    keys = VirtualKeys(tab)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    # The home page and the sign-in form speak Japanese before anyone signs in.
    tab.goto("/")
    assert tab.evaluate("document.documentElement.lang") == "ja"
    tab.goto("/account/login")
    assert told(app, "ja", "Sign in") in text_of(tab)
    sign_in(tab, "kenji")

    # The checklist: every check passed, said in Japanese.
    tab.goto("/giveaway")
    checklist = text_of(tab)
    assert told(app, "ja", "You maintain a critical project") in checklist
    assert told(app, "ja", "You have never turned on two-factor authentication") in checklist
    assert "You maintain a critical project" not in checklist
    # Country names come from CLDR in Japanese; Japan is among them.
    assert tab.locator("select[name=region] option[value=JP]").inner_text() == "日本"

    # The claim: the code, and where and until when to redeem it.
    claim(tab, "JP")
    panel = text_of(tab)
    assert tab.text_content("#promo-code") == "LANG-KENJI-1"
    assert told(app, "ja", "Your code is ready. We also emailed you a receipt.") in panel
    assert "Redeem it at" not in panel
    fits_the_screen(tab)

    # The walkthrough registers a key: the script's words are Japanese too.
    tab.get_by_role("link", name=told(app, "ja", "Set up your keys, step by step")).click()
    tab.wait_for_url("**/giveaway/setup")
    keys.plug_in()
    tab.locator("[data-webauthn-start]:enabled").click()
    tab.locator('[data-step="second_key"][aria-current="step"]').wait_for()
    assert "Touch your security key" not in text_of(tab)

    # The account page counts the key in Japanese.
    tab.goto("/account/")
    account = text_of(tab)
    assert told_plural(app, "ja", "%(num)d security key", "%(num)d security keys", 1) in account
    assert "Protected" not in account
    fits_the_screen(tab)
    assert not errors, errors
    tab.context.close()


def test_a_key_refused_is_explained_in_the_browser_s_language(browser, live_server):  # type: ignore[no-untyped-def]
    """The key ceremony's messages come from the page, translated (not from the script)."""
    app = live_server.app
    make_user(app, "anna")
    tab = new_tab(browser, live_server, locale="de-DE")
    sign_in(tab, "anna")
    tab.goto("/account/security")
    VirtualKeys(tab).plug_in()
    tab.locator("[data-webauthn-start]:enabled").click()  # no name given
    status = tab.locator("[data-webauthn-status]")
    expected = told(app, "de", "Give the key a name first, so you can tell your keys apart.")
    status.filter(has_text=expected).wait_for()
    tab.context.close()
