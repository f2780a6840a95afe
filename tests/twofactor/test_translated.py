"""What the security pages, their scripts and their emails say is translatable.

In a pseudo-locale (tests/i18n/pseudo.py) every marked message is bracketed:
the scripts' words arrive translated in the page's JSON block, none is left in
the scripts themselves, and a 2FA email words its method in the recipient's
language, whoever made the change.
"""

from __future__ import annotations

import json
import re
from email.header import decode_header, make_header
from pathlib import Path

import pytest

from giveaway import mail
from tests.conftest import make_sqlite_app
from tests.factories import make_user
from tests.i18n.pseudo import compile_pseudo, unmarked

STATIC = Path(__file__).resolve().parents[2] / "static" / "js"
BLOCK = re.compile(r'<script type="application/json" id="script-messages">(.*?)</script>', re.S)


@pytest.fixture
def app(tmp_path, sqlite_template):
    """The plain app (not the folder's), with German spoken in the pseudo-locale."""
    application = make_sqlite_app(
        tmp_path,
        sqlite_template,
        LANGUAGES=["en", "de"],
        BABEL_TRANSLATION_DIRECTORIES=str(compile_pseudo(tmp_path / "t", "de")),
    )
    yield application
    application.extensions["db.engine"].dispose()


def _words(client, language: str) -> dict[str, dict[str, str]]:
    client.set_cookie("language", language)
    html = client.get("/account/login").get_data(as_text=True)
    found = BLOCK.search(html)
    assert found, html
    return json.loads(found.group(1))


def test_the_scripts_words_come_translated_from_the_page(client):
    words = _words(client, "de")
    assert set(words) == {"webauthn", "copy", "tables"}
    for group in words.values():
        for text in group.values():
            assert text == "" or (text.startswith("⟦") and text.endswith("⟧")), text


def test_no_script_keeps_an_english_copy(client):
    words = _words(client, "en")
    assert words["webauthn"]["cancelled"].startswith("The security key request was cancelled")
    sources = {name: (STATIC / f"{name}.js").read_text() for name in words}
    for name, group in words.items():
        for text in group.values():
            if text:
                assert text not in sources[name], (name, text)


@pytest.mark.parametrize(
    ("template", "context"),
    [
        ("twofactor_added", {"method": "webauthn", "label": "Blue key"}),
        ("twofactor_added", {"method": "totp"}),
        ("twofactor_added", {"method": "recovery_codes", "replaced": True}),
        ("twofactor_removed", {"method": "webauthn", "label": "Blue key", "none_left": True}),
        ("twofactor_removed", {"method": "totp"}),
    ],
)
def test_a_2fa_email_words_the_method_in_the_recipient_s_language(app, template, context):
    anna = make_user(app, "anna", locale="de")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        message = mail.build("anna@example.org", template, user=anna, **context)
    site = app.config["SITE_NAME"]
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject.startswith("⟦") and subject.endswith("⟧"), subject
    html = message.get_payload()[1].get_payload(decode=True).decode()
    assert unmarked(html, allowed=("anna", "Blue key")) == [site, site], html
