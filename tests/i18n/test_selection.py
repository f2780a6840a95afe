"""Which language a page speaks: saved choice > cookie > Accept-Language > English."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from giveaway import i18n
from tests.conftest import AuthActions, post_form
from tests.factories import make_user, reload_user


def lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match
    return match.group(1)


def page(client: FlaskClient, path: str = "/", **headers: str) -> str:
    return client.get(path, headers=headers).get_data(as_text=True)


def test_english_without_any_preference(client: FlaskClient) -> None:
    html = page(client)
    assert lang(html) == "en"
    assert ">Sign in</a>" in html


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("de", "de"),
        ("de-AT,de;q=0.9,en;q=0.5", "de"),
        ("DE-de", "de"),
        ("fr-FR,fr;q=0.9", "en"),  # not shipped: English
        ("fr,de;q=0.8", "de"),  # the first shipped one the browser accepts
        ("en-GB,de;q=0.9", "en"),
        ("*", "en"),
    ],
)
def test_the_browser_language_when_shipped(client: FlaskClient, accept: str, expected: str) -> None:
    html = page(client, **{"Accept-Language": accept})
    assert lang(html) == expected
    assert (">Anmelden</a>" in html) == (expected == "de")


def test_the_cookie_beats_the_browser(client: FlaskClient) -> None:
    client.set_cookie(i18n.COOKIE, "de")
    assert lang(page(client, **{"Accept-Language": "en"})) == "de"


def test_an_unknown_cookie_is_ignored(client: FlaskClient) -> None:
    client.set_cookie(i18n.COOKIE, "fr")
    assert lang(page(client, **{"Accept-Language": "de"})) == "de"
    client.set_cookie(i18n.COOKIE, "<script>")
    assert lang(page(client)) == "en"


def test_the_saved_choice_beats_cookie_and_browser(app: Flask, auth: AuthActions) -> None:
    make_user(app, "alice", locale="de")
    auth.login("alice")
    auth.client.set_cookie(i18n.COOKIE, "en")
    assert lang(page(auth.client, **{"Accept-Language": "en"})) == "de"


def test_a_saved_choice_no_longer_shipped_is_ignored(app: Flask, auth: AuthActions) -> None:
    make_user(app, "alice", locale="fr")
    auth.login("alice")
    assert lang(page(auth.client, **{"Accept-Language": "de"})) == "de"
    assert lang(page(auth.client)) == "en"


def test_outside_a_request_the_default(app: Flask) -> None:
    with app.app_context():
        assert i18n.select_locale() == "en"


# --- the menu ---------------------------------------------------------------------


def test_the_menu_names_each_language_in_its_own_words(client: FlaskClient) -> None:
    html = page(client, **{"Accept-Language": "de"})
    assert '<label for="language-choice">Sprache</label>' in html
    assert '<option value="en" lang="en">English</option>' in html
    assert '<option value="de" lang="de" selected>Deutsch</option>' in html
    assert 'action="/language"' in html


@pytest.mark.config(LANGUAGES=["en"])
def test_no_menu_while_only_english_ships(client: FlaskClient) -> None:
    html = page(client, **{"Accept-Language": "de"})
    assert "language-choice" not in html and 'action="/language"' not in html
    assert lang(html) == "en"


def test_a_visitor_s_choice_is_a_cookie_and_returns_to_the_page(client: FlaskClient) -> None:
    response = post_form(
        client, "/language", {"locale": "de", "next": "/account/login?next=/giveaway"}, page="/"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login?next=/giveaway"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{i18n.COOKIE}=de;") and "HttpOnly" in cookie
    assert lang(page(client, "/account/login")) == "de"


def test_a_signed_in_choice_is_saved_on_the_account(app: Flask, auth: AuthActions) -> None:
    make_user(app, "alice")
    auth.login("alice")
    response = post_form(auth.client, "/language", {"locale": "de", "next": "/giveaway"}, page="/")
    assert response.status_code == 302 and response.headers["Location"] == "/giveaway"
    user = reload_user(app, "alice")
    assert user is not None and user.locale == "de"
    # On another device (no cookie) the account's choice still holds.
    other = app.test_client()
    AuthActions(other).login("alice")
    assert lang(page(other, **{"Accept-Language": "en"})) == "de"


def test_the_menu_never_leaves_the_site(client: FlaskClient) -> None:
    response = post_form(client, "/language", {"locale": "de", "next": "//evil.example/"}, page="/")
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("/account/login?next=/giveaway/setup", "/account/login?next=%2Fgiveaway%2Fsetup"),
        ("/account/login?next=//evil.example/", "/account/login"),
        ("/account/login?next=/%252F%252Fevil.example", "/account/login"),
        ("/giveaway?keys_per_code=99&x=soon", "/giveaway"),
    ],
)
def test_the_menu_comes_back_to_the_page_and_where_it_leads(
    client: FlaskClient, address: str, carried: str
) -> None:
    """Only the page and its on-site `next` are carried, never what else an address holds."""
    html = page(client, address)
    menu = html[html.index('action="/language"') :]
    assert f'name="next" type="hidden" value="{carried}"' in menu
    assert "evil.example" not in menu and "soon" not in html


def test_a_language_not_shipped_is_refused(app: Flask, auth: AuthActions) -> None:
    make_user(app, "alice")
    auth.login("alice")
    response = post_form(auth.client, "/language", {"locale": "fr"}, page="/")
    assert response.status_code == 400
    assert "Choose one of the languages in the menu." in response.get_data(as_text=True)
    user = reload_user(app, "alice")
    assert user is not None and user.locale is None
    assert "Set-Cookie" not in response.headers or i18n.COOKIE not in response.headers["Set-Cookie"]


def test_the_menu_needs_the_csrf_token(client: FlaskClient) -> None:
    # Refused like every form without its token: back to a page with why, nothing saved.
    response = client.post("/language", data={"locale": "de"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "language=" not in response.headers.get("Set-Cookie", "")


def test_the_menu_works_without_script(client: FlaskClient) -> None:
    """A plain form: a labelled select and a submit button, no script needed."""
    html = page(client)
    form = html[html.index('<form method="post" action="/language"') :]
    form = form[: form.index("</form>")]
    assert '<select id="language-choice" name="locale">' in form
    assert '<button type="submit"' in form and "<script" not in form


@pytest.mark.config(BABEL_TRANSLATION_DIRECTORIES=str(i18n.TRANSLATIONS), LANGUAGES=["en", "de"])
def test_the_scripts_words_are_worded_once_per_language(app: Flask) -> None:
    """base.html's data block is made once per locale (and app), in that locale."""
    from giveaway import scripts

    blocks = {}
    for locale in ("de", "en", "de"):
        with app.test_request_context(headers={"Accept-Language": locale}):
            blocks.setdefault(locale, []).append(scripts.block())
    assert blocks["de"][0] is blocks["de"][1]
    assert blocks["de"][0] != blocks["en"][0]
    assert "Touch your security key now" in blocks["en"][0]
    assert "Sicherheitsschlüssel" in blocks["de"][0]  # readable, not \\u-escaped
