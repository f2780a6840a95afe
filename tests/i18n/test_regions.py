"""Country names of the region select come from CLDR, in the reader's language."""

from __future__ import annotations

import pytest
from flask import Flask

from giveaway.claims import regions

ELIGIBLE = ["AT", "BE", "CA", "FR", "DE", "IT", "JP", "ES", "CH", "GB", "US"]


def choices(app: Flask, locale: str) -> list[tuple[str, str]]:
    with app.test_request_context(headers={"Accept-Language": locale}):
        return regions.choices(ELIGIBLE)


def test_every_iso_country_and_nothing_else() -> None:
    assert len(regions.CODES) == 249
    assert {"DE", "JP", "AX", "CW"} <= regions.CODES
    assert not {"EU", "UN", "ZZ", "XK", "001"} & regions.CODES
    assert regions.is_valid("JP") and regions.is_valid(regions.OTHER)
    assert not regions.is_valid("EU") and regions.unknown(["DE", "EU"]) == ["EU"]


def test_english_names_sorted_other_country_last(app: Flask) -> None:
    names = [name for _, name in choices(app, "en")]
    assert names == [
        "Austria", "Belgium", "Canada", "France", "Germany", "Italy", "Japan", "Spain",
        "Switzerland", "United Kingdom", "United States", "Another country",
    ]  # fmt: skip


def test_german_names_sorted_as_german_readers_expect(app: Flask) -> None:
    pairs = choices(app, "de")
    assert pairs[-1] == (regions.OTHER, "Ein anderes Land")
    assert [name for _, name in pairs[:-1]] == [
        "Belgien", "Deutschland", "Frankreich", "Italien", "Japan", "Kanada", "Österreich",
        "Schweiz", "Spanien", "Vereinigte Staaten", "Vereinigtes Königreich",
    ]  # fmt: skip


@pytest.mark.config(LANGUAGES=["en", "ja", "fr"])
def test_japanese_and_french_names(app: Flask) -> None:
    assert dict(choices(app, "ja"))["JP"] == "日本"
    french = choices(app, "fr")
    assert dict(french)["DE"] == "Allemagne"
    # É sorts with the Es: Espagne, États-Unis, France.
    names = [name for _, name in french[:-1]]
    assert names.index("Espagne") < names.index("États-Unis") < names.index("France")


def test_the_claim_page_lists_countries_in_the_reader_s_language(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "de"}):
        from giveaway.claims.forms import ClaimForm

        form = ClaimForm(ELIGIBLE)
        assert ("DE", "Deutschland") in form.region.choices
