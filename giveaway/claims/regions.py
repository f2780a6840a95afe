"""Shipping regions: ISO 3166-1 alpha-2 codes, named in the reader's language.

The names come from CLDR (Babel's `Locale.territories`), so the region select
reads "Deutschland" to a German reader and "ドイツ" to a Japanese one.

The region a maintainer picks is used for one decision and then forgotten:
nothing here stores, logs or records it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from babel import Locale
from flask_babel import get_locale, gettext

OTHER = "other"

# CLDR territories with two-letter codes that are not ISO 3166-1 countries:
# regions (EU, UN, the eurozone), reserved codes (Ascension, Ceuta and Melilla…),
# private-use and pseudo codes.
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)

# Every ISO 3166-1 alpha-2 code: a valid answer to "where would the keys be shipped?".
CODES = frozenset(
    code
    for code in Locale("en").territories
    if isinstance(code, str) and len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)

DEFAULT_ELIGIBLE = ("AT", "BE", "CA", "FR", "DE", "IT", "JP", "ES", "CH", "GB", "US")


def normalize_list(codes: Iterable[str] | str) -> list[str]:
    """The ELIGIBLE_REGIONS setting as upper-case codes (a list, or a comma-separated string)."""
    if isinstance(codes, str):
        codes = codes.split(",")
    return [c.strip().upper() for c in codes if c and c.strip()]


def unknown(codes: Iterable[str]) -> list[str]:
    return [c for c in codes if c not in CODES]


def name(code: str, locale: Locale | None = None) -> str:
    """The country's short name in `locale` (default: the reader's), from CLDR."""
    locale = locale or get_locale() or Locale("en")
    return str(locale.territories.get(code) or Locale("en").territories[code])


def _collation_key(text: str) -> str:
    """Sort "Österreich" with the Os and "Émirats" with the Es, whatever the case."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def choices(eligible: Iterable[str]) -> list[tuple[str, str]]:
    """The claim form's choices: eligible countries by name, then "another country"."""
    locale = get_locale() or Locale("en")
    listed = sorted(
        ((c, name(c, locale)) for c in eligible if c in CODES),
        key=lambda pair: _collation_key(pair[1]),
    )
    return [*listed, (OTHER, gettext("Another country"))]


def is_valid(value: str) -> bool:
    return value == OTHER or value in CODES


def ships_to(value: str, eligible: Iterable[str]) -> bool:
    return value != OTHER and value in set(eligible)
