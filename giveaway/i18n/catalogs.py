"""The catalog workflow: extract, update, compile, and the checks that keep it honest.

`python -m giveaway.i18n.catalogs extract|update|compile|check|coverage` (the
Makefile's `make messages` and `make catalogs`; `coverage` counts the messages
each locale translates). The test command fails when

- the committed template (giveaway/translations/messages.pot) is stale: a
  fresh extraction has messages it lacks or lacks messages it has;
- a shipped locale (LANGUAGES, but the source language) has a message missing,
  untranslated or fuzzy (a message only administrators read may stay
  untranslated: the issue allows English-only admin pages, and an empty
  translation shows the English);
- a translation lacks a named placeholder of the original, or fails Babel's
  own checks (`Catalog.check`: placeholders of the wrong kind, plural forms).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask

from giveaway import settings

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSLATIONS = ROOT / "giveaway" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
MAPPING = ROOT / "babel.cfg"
SOURCE_LOCALE = "en"
# Beyond Babel's default keywords (_, gettext, ngettext, pgettext…).
KEYWORDS = ("lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2")
# Folders with nothing to translate, skipped for speed (babel.cfg says what is read).
IGNORED_DIRS = ".* _* tests bench docs node_modules instance config scripts"
_PLACEHOLDER = re.compile(r"%\((\w+)\)")
# Where only administrators read: a message found only here may stay untranslated.
ADMIN_PLACES = (
    "templates/admin/",
    "templates/claims_admin/",
    "templates/critical/admin_",
    "templates/privacy/admin_",
    "giveaway/admin/",
    "giveaway/claims/admin_views.py",
    "giveaway/critical/admin_views.py",
)


def _pybabel(*args: str) -> None:
    status = CommandLineInterface().run(["pybabel", "-q", *args])
    if status:
        raise SystemExit(status)


def extract(output: Path = TEMPLATE, root: Path = ROOT) -> Path:
    """Write the template of every message in the code, templates and scripts."""
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    output = output.resolve()
    # From the root, so that the template names files by their place in the repository.
    with contextlib.chdir(root):
        _pybabel(
            "extract",
            "-F",
            str(MAPPING),
            *keywords,
            f"--ignore-dirs={IGNORED_DIRS}",
            "--add-location=file",
            "--no-wrap",
            "--sort-by-file",
            "--project=giveaway",
            "--copyright-holder=the giveaway's authors",
            "-o",
            str(output),
            ".",
        )
    return output


def po_files(translations: Path = TRANSLATIONS) -> list[Path]:
    return sorted(translations.glob("*/LC_MESSAGES/messages.po"))


def update(translations: Path = TRANSLATIONS) -> None:
    """Bring every locale's catalog up to the template (new messages untranslated)."""
    if po_files(translations):
        _pybabel(
            "update", "-i", str(translations / "messages.pot"), "-d", str(translations), "--no-wrap"
        )


def compile_all(translations: Path = TRANSLATIONS) -> list[Path]:
    """Compile each catalog to its .mo file (fuzzy translations left out)."""
    compiled = []
    for po in po_files(translations):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as target:
            write_mo(target, catalog)
        compiled.append(mo)
    return compiled


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _keys(catalog: Catalog) -> set[tuple[object, str | None]]:
    return {(message.id, message.context) for message in catalog if message.id}


def _label(key: tuple[object, str | None]) -> str:
    msgid = key[0][0] if isinstance(key[0], tuple | list) else key[0]
    return repr(msgid)[:100]


def stale_template(template: Path = TEMPLATE, root: Path = ROOT) -> list[str]:
    """How the committed template differs from a fresh extraction (header and places aside)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = read(extract(Path(tmp) / "messages.pot", root))
    committed = read(template) if template.exists() else Catalog()
    missing = sorted(_keys(fresh) - _keys(committed), key=_label)
    gone = sorted(_keys(committed) - _keys(fresh), key=_label)
    return [f"not in the template: {_label(key)}" for key in missing] + [
        f"no longer in the code: {_label(key)}" for key in gone
    ]


def _forms(message: Message) -> list[str]:
    forms = message.string if isinstance(message.string, tuple | list) else [message.string]
    return [str(form or "") for form in forms]


def _ids(message: Message) -> list[str]:
    ids = message.id if isinstance(message.id, tuple | list) else [message.id]
    return [str(text) for text in ids if text]


def missing_placeholders(message: Message) -> list[str]:
    """The original's named placeholders that some form of the translation leaves out.

    A plural's forms need the placeholders its singular and plural share (a
    singular may say "one" for the count)."""
    named = [set(_PLACEHOLDER.findall(text)) for text in _ids(message)]
    required = set.intersection(*named) if named else set()
    lost = set()
    for form in _forms(message):
        if form:
            lost |= required - set(_PLACEHOLDER.findall(form))
    return sorted(lost)


def admin_only(message: Message) -> bool:
    """Whether every place of `message` is one only administrators read."""
    places = [str(filename) for filename, _line in message.locations]
    return bool(places) and all(place.startswith(ADMIN_PLACES) for place in places)


def catalog_problems(po: Path, template: Path = TEMPLATE) -> list[str]:
    """Every reason `po` cannot ship: missing, untranslated, fuzzy, broken messages."""
    locale = po.parent.parent.name
    catalog = read(po, locale=locale)
    problems = []
    keys = _keys(catalog)
    for key in sorted(_keys(read(template)) - keys, key=_label):
        problems.append(f"{locale}: missing (run `make messages`): {_label(key)}")
    for message in catalog:
        if not message.id:
            continue
        label = _label((message.id, message.context))
        if message.fuzzy:
            problems.append(f"{locale}: fuzzy: {label}")
        elif not all(_forms(message)):
            if admin_only(message) and not any(_forms(message)):
                continue
            problems.append(f"{locale}: untranslated: {label}")
        else:
            for name in missing_placeholders(message):
                problems.append(f"{locale}: the translation lacks %({name})s: {label}")
    for message, errors in catalog.check():
        for error in errors:
            problems.append(f"{locale}: {error}: {_label((message.id, message.context))}")
    return problems


def shipped_problems(languages: Iterable[str], translations: Path = TRANSLATIONS) -> list[str]:
    """The problems of every shipped locale's catalog (the source language has none)."""
    problems = []
    for locale in languages:
        if locale == SOURCE_LOCALE:
            continue
        po = translations / locale / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            problems.append(f"{locale}: shipped (LANGUAGES) but has no catalog at {po}")
            continue
        problems.extend(catalog_problems(po, translations / "messages.pot"))
    return problems


def check(languages: Iterable[str]) -> list[str]:
    return stale_template() + shipped_problems(languages)


def coverage(po: Path, template: Path = TEMPLATE) -> dict[str, int]:
    """How much of the template `po` translates: every message, and those maintainers read."""
    translated = {
        key
        for message in read(po, locale=po.parent.parent.name)
        if message.id and not message.fuzzy and all(_forms(message))
        for key in [(message.id, message.context)]
    }
    counts = {"messages": 0, "translated": 0, "maintainer": 0, "maintainer_translated": 0}
    for message in read(template):
        if not message.id:
            continue
        done = (message.id, message.context) in translated
        counts["messages"] += 1
        counts["translated"] += done
        if not admin_only(message):
            counts["maintainer"] += 1
            counts["maintainer_translated"] += done
    return counts


def coverage_table(translations: Path = TRANSLATIONS) -> list[str]:
    """One line per locale: messages translated, of all and of those maintainers read."""
    lines = ["locale  translated        maintainers' messages"]
    for po in po_files(translations):
        counts = coverage(po, translations / "messages.pot")
        every = f"{counts['translated']}/{counts['messages']}"
        theirs = f"{counts['maintainer_translated']}/{counts['maintainer']}"
        share = 100 * counts["maintainer_translated"] / max(counts["maintainer"], 1)
        lines.append(f"{po.parent.parent.name:<7} {every:<17} {theirs} ({share:.0f}%)")
    return lines


def write(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0)
    path.write_bytes(buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv else ""
    if command == "extract":
        extract()
    elif command == "update":
        update()
    elif command == "compile":
        for mo in compile_all():
            print(f"compiled {mo.relative_to(ROOT)}")
    elif command == "coverage":
        print("\n".join(coverage_table()))
    elif command == "check":
        # The settings as the portal reads them (GIVEAWAY_SETTINGS, GIVEAWAY_LANGUAGES…).
        app = Flask("giveaway")
        settings.load(app)
        problems = check(app.config["LANGUAGES"])
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    else:
        print(
            "usage: python -m giveaway.i18n.catalogs extract|update|compile|check|coverage",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
