"""The catalog workflow's checks: the committed template and shipped catalogs are whole.

The first two tests are the gate of the test command; the others feed the
checks deliberately bad catalogs (in tmp) to show that each failure is caught.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.support import Translations
from flask import Flask

from giveaway import settings
from giveaway.i18n import catalogs


def shipped_languages() -> list[str]:
    app = Flask("giveaway")
    settings.load(app)
    return list(app.config["LANGUAGES"])


def test_the_committed_template_is_fresh() -> None:
    assert catalogs.stale_template() == [], "run `make messages` and commit the template"


def test_every_shipped_locale_is_complete() -> None:
    assert catalogs.shipped_problems(shipped_languages()) == []


# --- each failure, from a deliberately bad catalog ------------------------------------

TEMPLATE_MESSAGES = {
    "Sign in": "",
    "Hello %(name)s,": "",
    ("%(count)s key left", "%(count)s keys left"): ("", ""),
}


def template(folder: Path) -> Path:
    catalog = Catalog(project="giveaway")
    for msgid in TEMPLATE_MESSAGES:
        catalog.add(msgid)
    path = folder / "messages.pot"
    catalogs.write(catalog, path)
    return path


def locale_catalog(folder: Path, locale: str, messages: dict, fuzzy: tuple = ()) -> Path:  # type: ignore[type-arg]
    catalog = Catalog(locale=locale)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr, flags=["fuzzy"] if msgid in fuzzy else [])
    path = folder / locale / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    catalogs.write(catalog, path)
    return path


GOOD_GERMAN = {
    "Sign in": "Anmelden",
    "Hello %(name)s,": "Hallo %(name)s,",
    ("%(count)s key left", "%(count)s keys left"): (
        "%(count)s Schlüssel übrig",
        "%(count)s Schlüssel übrig",
    ),
}


def test_a_complete_catalog_passes_and_compiles(tmp_path: Path) -> None:
    template(tmp_path)
    locale_catalog(tmp_path, "de", GOOD_GERMAN)
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == []
    (mo,) = catalogs.compile_all(tmp_path)
    with mo.open("rb") as compiled:
        translations = Translations(compiled)
    assert translations.gettext("Sign in") == "Anmelden"
    assert translations.ngettext("%(count)s key left", "%(count)s keys left", 2) == (
        "%(count)s Schlüssel übrig"
    )


def test_untranslated_message(tmp_path: Path) -> None:
    template(tmp_path)
    locale_catalog(tmp_path, "de", {**GOOD_GERMAN, "Sign in": ""})
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == ["de: untranslated: 'Sign in'"]


def test_untranslated_plural_form(tmp_path: Path) -> None:
    template(tmp_path)
    plural = ("%(count)s key left", "%(count)s keys left")
    locale_catalog(tmp_path, "de", {**GOOD_GERMAN, plural: ("%(count)s Schlüssel übrig", "")})
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == [
        "de: untranslated: '%(count)s key left'"
    ]


def _with_places(path: Path, places: dict[str, list[str]]) -> None:
    catalog = catalogs.read(path, locale="de")
    for msgid, files in places.items():
        catalog[msgid].locations = [(name, None) for name in files]
    catalogs.write(catalog, path)


def test_a_message_only_administrators_read_may_stay_english(tmp_path: Path) -> None:
    """Admin pages may be English-only (an empty translation shows the original)."""
    template(tmp_path)
    po = locale_catalog(tmp_path, "de", {**GOOD_GERMAN, "Sign in": ""})
    _with_places(po, {"Sign in": ["templates/admin/users.html", "giveaway/admin/views.py"]})
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == []
    # Once a maintainer's page shows it too, it must be translated.
    _with_places(po, {"Sign in": ["templates/admin/users.html", "templates/accounts/login.html"]})
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == ["de: untranslated: 'Sign in'"]


def test_fuzzy_message(tmp_path: Path) -> None:
    template(tmp_path)
    locale_catalog(tmp_path, "de", GOOD_GERMAN, fuzzy=("Sign in",))
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == ["de: fuzzy: 'Sign in'"]


def test_message_missing_from_the_catalog(tmp_path: Path) -> None:
    template(tmp_path)
    locale_catalog(tmp_path, "de", {k: v for k, v in GOOD_GERMAN.items() if k != "Sign in"})
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == [
        "de: missing (run `make messages`): 'Sign in'"
    ]


def test_translation_without_a_placeholder_of_the_original(tmp_path: Path) -> None:
    template(tmp_path)
    locale_catalog(tmp_path, "de", {**GOOD_GERMAN, "Hello %(name)s,": "Hallo,"})
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == [
        "de: the translation lacks %(name)s: 'Hello %(name)s,'"
    ]


def test_plural_form_without_the_count(tmp_path: Path) -> None:
    template(tmp_path)
    plural = ("%(count)s key left", "%(count)s keys left")
    locale_catalog(
        tmp_path, "de", {**GOOD_GERMAN, plural: ("Ein Schlüssel übrig", "%(count)s übrig")}
    )
    assert catalogs.shipped_problems(["en", "de"], tmp_path) == [
        "de: the translation lacks %(count)s: '%(count)s key left'"
    ]


def test_babel_s_own_checks(tmp_path: Path) -> None:
    """A placeholder the original does not have (Catalog.check's python_format)."""
    template(tmp_path)
    locale_catalog(tmp_path, "de", {**GOOD_GERMAN, "Hello %(name)s,": "Hallo %(name)s %(nom)s,"})
    problems = catalogs.shipped_problems(["en", "de"], tmp_path)
    assert problems == ["de: unknown named placeholder 'nom': 'Hello %(name)s,'"]


def test_a_shipped_locale_without_a_catalog(tmp_path: Path) -> None:
    template(tmp_path)
    problems = catalogs.shipped_problems(["en", "ja"], tmp_path)
    assert len(problems) == 1 and problems[0].startswith(
        "ja: shipped (LANGUAGES) but has no catalog"
    )


def test_a_stale_template(tmp_path: Path) -> None:
    """Code with a message the template lacks, and a template message the code lost."""
    code = tmp_path / "repo" / "giveaway"
    code.mkdir(parents=True)
    (code / "pages.py").write_text(
        'from flask_babel import gettext\n\nTITLE = gettext("Welcome")\n'
    )
    pot = template(tmp_path)
    assert catalogs.stale_template(pot, tmp_path / "repo") == [
        "not in the template: 'Welcome'",
        "no longer in the code: '%(count)s key left'",
        "no longer in the code: 'Hello %(name)s,'",
        "no longer in the code: 'Sign in'",
    ]


def test_the_header_date_is_not_staleness(tmp_path: Path) -> None:
    code = tmp_path / "repo" / "templates"
    code.mkdir(parents=True)
    (code / "page.html").write_text('<p>{{ _("Sign in") }}</p>\n')
    pot = catalogs.extract(tmp_path / "old.pot", tmp_path / "repo")
    pot.write_text(pot.read_text().replace("POT-Creation-Date: 20", "POT-Creation-Date: 19"))
    assert catalogs.stale_template(pot, tmp_path / "repo") == []


def test_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogs.main(["check"]) == 0
    assert catalogs.main(["nonsense"]) == 2
    assert "usage:" in capsys.readouterr().err


def test_coverage_counts_what_each_locale_translates(tmp_path: Path) -> None:
    template(tmp_path)
    po = locale_catalog(tmp_path, "de", {**GOOD_GERMAN, "Sign in": ""})
    _with_places(po, {"Sign in": ["templates/admin/users.html"]})
    catalog = catalogs.read(tmp_path / "messages.pot")
    catalog["Sign in"].locations = [("templates/admin/users.html", None)]
    catalogs.write(catalog, tmp_path / "messages.pot")
    assert catalogs.coverage(po, tmp_path / "messages.pot") == {
        "messages": 3,
        "translated": 2,
        "maintainer": 2,
        "maintainer_translated": 2,
    }
    assert catalogs.coverage_table(tmp_path)[1].split() == ["de", "2/3", "2/2", "(100%)"]


def test_coverage_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogs.main(["coverage"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("locale")
    assert {line.split()[0] for line in lines[1:]} >= {"de", "fr", "it", "ja", "es", "nl"}
