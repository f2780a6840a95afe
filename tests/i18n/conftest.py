"""A second language for the i18n tests: a small German catalog compiled in tmp.

The portal ships English only until its catalogs are complete; these tests
ship a few German messages of their own so that a page and a message are
seen translated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

GERMAN = {
    "Sign in": "Anmelden",
    "Language": "Sprache",
    "Another country": "Ein anderes Land",
    "Hello %(name)s,": "Hallo %(name)s,",
    "Reset your password on %(site_name)s": "Setzen Sie Ihr Passwort auf %(site_name)s zurück",
    (
        "%(project)s is now a critical project on %(index_name)s",
        "%(count)s of your projects are now critical projects on %(index_name)s",
    ): (
        "%(project)s ist jetzt ein kritisches Projekt auf %(index_name)s",
        "%(count)s Ihrer Projekte sind jetzt kritische Projekte auf %(index_name)s",
    ),
}


def compile_catalog(folder: Path, locale: str, messages: dict) -> Path:  # type: ignore[type-arg]
    """`folder`/<locale>/LC_MESSAGES/messages.mo holding `messages`; returns `folder`."""
    catalog = Catalog(locale=locale)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    target = folder / locale / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    return folder


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, object]:
    """English and German ship, German from the catalog above."""
    translations = compile_catalog(tmp_path / "translations", "de", GERMAN)
    return {"LANGUAGES": ["en", "de"], "BABEL_TRANSLATION_DIRECTORIES": str(translations)}
