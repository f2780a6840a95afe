"""Dates and numbers per locale: the `date`, `datetime` and `number` filters."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import Flask, render_template_string

from giveaway import create_app

MOMENT = datetime(2026, 3, 14, 12, 5, tzinfo=UTC)
TEMPLATE = (
    "{{ when|datetime }} | {{ when|date }} | {{ day|date }} | {{ n|number }} | {{ none|date }}"
)


def render(app: Flask, locale: str) -> str:
    with app.test_request_context(headers={"Accept-Language": locale}):
        return render_template_string(
            TEMPLATE, when=MOMENT, day=date(2026, 1, 2), n=1234567, none=None
        )


def test_english_keeps_its_iso_dates(app: Flask) -> None:
    assert render(app, "en") == "2026-03-14 12:05 UTC | 2026-03-14 | 2026-01-02 | 1,234,567 | —"


def test_german_dates_and_numbers(app: Flask) -> None:
    assert render(app, "de") == "14.03.2026, 12:05 UTC | 14.03.2026 | 02.01.2026 | 1.234.567 | —"


@pytest.mark.config(LANGUAGES=["en", "fr", "ja"])
@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr", "14 mars 2026, 12:05 TU | 14 mars 2026 | 2 janv. 2026 | 1\u202f234\u202f567 | —"),
        ("ja", "2026/03/14 12:05 UTC | 2026/03/14 | 2026/01/02 | 1,234,567 | —"),
    ],
)
def test_cldr_formats_of_other_locales(app: Flask, locale: str, expected: str) -> None:
    assert render(app, locale) == expected


@pytest.mark.config(BABEL_DEFAULT_TIMEZONE="Europe/Berlin")
def test_shown_in_the_giveaway_time_zone(app: Flask) -> None:
    # CLDR has no English abbreviation for Central European Time: its offset.
    assert render(app, "en").startswith("2026-03-14 13:05 +0100 | 2026-03-14")
    assert render(app, "de").startswith("14.03.2026, 13:05 MEZ")


def test_the_zone_follows_giveaway_timezone_when_babel_s_is_unset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "GIVEAWAY_TIMEZONE": "America/New_York",
        }
    )
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "America/New_York"
    assert render(app, "en").startswith("2026-03-14 08:05 EDT")


def test_utc_by_default(app: Flask) -> None:
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "UTC"


@pytest.mark.config(LANGUAGES=["en", "de", "ja"])
@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en", "2 keys and 10 codes | an app"),
        ("de", "2 keys und 10 codes | an app"),
        ("ja", "2 keys、10 codes | an app"),
    ],
)
def test_a_list_in_a_sentence_is_joined_as_the_locale_does(
    app: Flask, locale: str, expected: str
) -> None:
    with app.test_request_context(headers={"Accept-Language": locale}):
        joined = render_template_string(
            "{{ two|wordlist }} | {{ one|wordlist }}", two=["2 keys", "10 codes"], one=["an app"]
        )
    assert joined == expected


@pytest.mark.config(LANGUAGES=["en", "es", "ja"])
@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "April 2026"), ("es", "abril de 2026"), ("ja", "2026年4月")],
)
def test_a_month_is_written_as_the_locale_writes_it(app: Flask, locale: str, expected: str) -> None:
    from giveaway.critical.service import month_words

    with app.test_request_context(headers={"Accept-Language": locale}):
        assert month_words(date(2026, 4, 1)) == expected
