"""Every page a maintainer reads, in every shipped language, with no English left.

Two readings of the same walk (tests/i18n/walk.py):
- in the pseudo-locale every marked message is bracketed, so any word left
  outside the brackets is a sentence nobody marked (or data, listed in DATA);
- in each shipped language, no sentence of the English catalog may be read on
  the page (a message translated in the catalog but shown in English, or
  shown from a template the catalog does not know), and `<html lang>` names
  the language.
"""

from __future__ import annotations

import html as html_module
import re
from pathlib import Path

import pytest
from babel import Locale
from flask import Flask
from flask.testing import FlaskClient

from giveaway.i18n import catalogs
from tests.i18n import pseudo
from tests.i18n.walk import DATA, maintainer_pages

# The languages issue 15 ships besides English (config/defaults.py LANGUAGES).
LOCALES = ["de", "fr", "it", "ja", "es", "nl"]
_PLACEHOLDER_OR_TAG = re.compile(r"%\(\w+\)[sd]|<[^>]+>|%%")
_WORD = re.compile(r"[A-Za-z]{2,}")


def english_sentences(locale: str) -> list[str]:
    """Runs of at least three English words from each maintainer message whose
    translation in `locale` does not itself contain them."""
    po = catalogs.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    catalog = catalogs.read(po, locale=locale)
    found = set()
    for message in catalog:
        if not message.id or catalogs.admin_only(message):
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        translated = " ".join(str(text or "") for text in strings)
        for msgid in ids:
            for part in _PLACEHOLDER_OR_TAG.split(html_module.unescape(str(msgid))):
                fragment = " ".join(part.split()).strip(" ,.:;()")
                if len(_WORD.findall(fragment)) >= 3 and fragment not in translated:
                    found.add(fragment)
    return sorted(found, key=len, reverse=True)


def page_text(html: str) -> str:
    parser = pseudo._Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def html_lang(html: str) -> str | None:
    match = re.search(r'<html lang="([^"]+)"', html)
    return match.group(1) if match else None


class TestNothingUnmarked:
    @pytest.fixture
    def app_settings(self, tmp_path: Path) -> dict[str, object]:
        folder = pseudo.compile_pseudo(tmp_path / "pseudo", "de")
        return {"LANGUAGES": ["en", "de"], "BABEL_TRANSLATION_DIRECTORIES": str(folder)}

    def test_every_word_of_every_page_is_a_marked_message_or_data(
        self, app: Flask, client: FlaskClient
    ) -> None:
        # Country names are CLDR's, in the page's language: data too.
        countries = tuple(Locale.parse("de").territories.values())
        left = []
        for label, html in maintainer_pages(app, client, "de"):
            left.extend(f"{label}: {run!r}" for run in pseudo.unmarked(html, DATA + countries))
        assert left == [], "\n".join(left)


class TestEachLanguage:
    @pytest.fixture
    def app_settings(self) -> dict[str, object]:
        # The catalogs the portal ships (compiled by the test command).
        return {"LANGUAGES": ["en", *LOCALES]}

    @pytest.mark.parametrize("locale", LOCALES)
    def test_no_english_sentence_left(self, app: Flask, client: FlaskClient, locale: str) -> None:
        sentences = english_sentences(locale)
        assert len(sentences) > 100  # the catalog was read
        left = []
        for label, html in maintainer_pages(app, client, locale):
            assert html_lang(html) == locale, label
            text = page_text(html)
            left.extend(f"{label}: {sentence!r}" for sentence in sentences if sentence in text)
        assert left == [], "\n".join(left)
