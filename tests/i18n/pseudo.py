"""A pseudo-locale that shows which words of a page are not translatable.

Every message of a fresh extraction is "translated" to itself wrapped in
⟦ ⟧ and compiled as a shipped locale's catalog (in tmp). A page rendered in
it has every marked sentence inside brackets; `unmarked(html)` returns the
text left outside them (visible text and the attributes people read). What
remains is data (names, codes, addresses, numbers) or a sentence nobody
marked for translation.
"""

from __future__ import annotations

import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from giveaway.i18n import catalogs

OPEN, CLOSE = "⟦", "⟧"
# Attributes whose words a person reads or hears.
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "value")
_BUTTONS = ("submit", "button", "reset")
_BRACKETED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


def _wrap(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}" if text else text


def compile_pseudo(folder: Path, locale: str) -> Path:
    """`folder`/<locale>/LC_MESSAGES/messages.mo with every message bracketed; returns `folder`."""
    with tempfile.TemporaryDirectory() as tmp:
        template = catalogs.read(catalogs.extract(Path(tmp) / "messages.pot"))
    catalog = Catalog(locale=locale)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(_wrap(str(text)) for text in message.id)
            catalog.add(message.id, forms[: catalog.num_plurals] or forms, context=message.context)
        else:
            catalog.add(message.id, _wrap(str(message.id)), context=message.context)
    target = folder / locale / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "messages.mo").open("wb") as mo:
        write_mo(mo, catalog)
    return folder


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "meta":
            return
        shown = dict(attrs)
        for name, value in attrs:
            if name not in READ_ATTRIBUTES or not value:
                continue
            # A value is read only on a button-like input; a field's or an option's is data.
            if name == "value" and not (tag == "input" and shown.get("type") in _BUTTONS):
                continue
            self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def unmarked(html: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The runs of words outside every bracketed message (data in `allowed` removed)."""
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    # Nested messages (a sentence holding a translated link) close from the inside out.
    previous = None
    while previous != text:
        previous, text = text, _BRACKETED.sub(" ", text)
    for data in sorted(allowed, key=len, reverse=True):
        text = text.replace(data, " ")
    runs = re.findall(r"[A-Za-z][A-Za-z'’,.:;!?()\- ]*[A-Za-z]", text)
    return [run for run in runs if len(re.findall(r"[A-Za-z]{2,}", run)) >= 1]
