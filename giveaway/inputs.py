"""What people type, read the way they meant it: digits and caseless text.

Plain functions (no Flask, no forms), so forms, models and services share them.
"""

from __future__ import annotations

import unicodedata


def ascii_digits(text: str | None) -> str | None:
    """`text` with every decimal digit written as an ASCII digit.

    A code typed in Arabic-Indic (٣), Devanagari (३) or full-width (３) digits
    means the same number as 3; compatibility forms (full-width letters, the
    "①" of some keyboards) are read as their plain letters first (NFKC).
    Anything that is not a digit is left as it is, for the field's own check
    to judge. None stays None (a field that was not sent).
    """
    if text is None:
        return None
    if text.isascii():
        return text
    chars = []
    for char in unicodedata.normalize("NFKC", text):
        value = unicodedata.decimal(char, None)
        chars.append(str(value) if value is not None else char)
    return "".join(chars)


def caseless(text: str) -> str:
    """The one form in which two spellings of an address compare equal.

    Python's full case folding, on both databases: SQLite's lower() folds ASCII
    letters only (it would keep "Ü" and "ü" apart) and PostgreSQL's depends on
    the server's locale. NFC first and last, so a letter typed precomposed (ü)
    or as a base letter and a combining mark (u + ¨) is the same letter.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
