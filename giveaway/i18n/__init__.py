"""Languages: which one a page or an email speaks, and dates and numbers in it.

The locale of a request is the account's saved choice, else the visitor's
cookie, else the best match of the browser's Accept-Language, else the
default (English); only SHIPPED locales (the LANGUAGES setting) are ever
chosen. An email speaks its recipient's language, whoever or whatever (a
request, a cron job) sends it: their saved choice, else what their browser
asked for when they last signed in, else (sent while they themselves are at
the keyboard: registering, asking for a link) the request's, else the default. Catalogs live in giveaway/translations/;
the workflow that keeps them whole is in `giveaway.i18n.catalogs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from babel import Locale, UnknownLocaleError
from babel.lists import format_list
from flask import Flask, current_app, has_request_context, request
from flask_babel import force_locale, format_decimal, get_locale, get_timezone
from flask_babel import format_date as babel_format_date
from flask_babel import format_datetime as babel_format_datetime
from flask_login import current_user, user_logged_in

from giveaway.extensions import babel

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"
# The visitor's choice, for those without an account to save it on (a year).
COOKIE = "language"
COOKIE_MAX_AGE = 60 * 60 * 24 * 365

# English pages have always shown ISO dates (unambiguous to readers everywhere);
# every other locale gets CLDR's own medium date, with a short time.
_ENGLISH_DATE = "yyyy-MM-dd"
_ENGLISH_DATETIME = "yyyy-MM-dd HH:mm z"
EMPTY = "—"


def shipped() -> list[str]:
    """The locales the portal speaks: the LANGUAGES setting, default first."""
    return list(current_app.config["LANGUAGES"])


def default() -> str:
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def is_shipped(code: object) -> bool:
    return isinstance(code, str) and code in shipped()


def best_match(accept_language: Iterable[str]) -> str | None:
    """The shipped locale that fits the browser's preferences best (or None).

    "de-AT" is served German and "pt-BR" nothing unless Portuguese ships.
    """
    shipped_by_key = {code.lower(): code for code in shipped()}
    for tag in accept_language:
        key = tag.replace("-", "_").lower()
        match = shipped_by_key.get(key) or shipped_by_key.get(key.split("_")[0])
        if match:
            return match
    return None


def spoken() -> str | None:
    """What this request's visitor asked for, account aside: the cookie, else Accept-Language."""
    if not has_request_context():
        return None
    cookie = request.cookies.get(COOKIE)
    if is_shipped(cookie):
        return str(cookie)
    return best_match(request.accept_languages.values())


def select_locale() -> str:
    """The locale of this request: saved choice > cookie > Accept-Language > default."""
    if not has_request_context():
        return default()
    saved = getattr(current_user, "locale", None) if current_user else None
    if is_shipped(saved):
        return str(saved)
    return spoken() or default()


def _at_the_keyboard(recipient: object) -> bool:
    """Whether this request is the recipient's own: they are signed in, or nobody is
    (registering, asking for a link). An administrator's request is not."""
    if not has_request_context() or recipient is None:
        return False
    if not getattr(current_user, "is_authenticated", False):
        return True
    return getattr(current_user, "id", None) == getattr(recipient, "id", object())


def for_recipient(recipient: object) -> str:
    """The language an email to `recipient` (a user, or None) is written in."""
    for known in (getattr(recipient, "locale", None), getattr(recipient, "browser_locale", None)):
        if is_shipped(known):
            return str(known)
    return (spoken() if _at_the_keyboard(recipient) else None) or default()


class _Account(Protocol):
    browser_locale: str | None


def remember_browser(_app: object, user: _Account, **_extra: object) -> None:
    """At sign-in, keep the language the browser asks for (flask_login's user_logged_in):
    mail sent later speaks it unless the account chose one."""
    asked = spoken()
    if asked and user.browser_locale != asked:
        user.browser_locale = asked


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    """Render (an email, a page part) in `locale`, then return to the request's."""
    with force_locale(locale):
        yield


def current() -> str:
    """The code of the locale speaking now ("de", "pt_BR")."""
    return str(get_locale() or default())


def html_lang() -> str:
    """The BCP 47 tag of the current locale, for `<html lang>` ("pt_BR" is "pt-BR")."""
    return current().replace("_", "-")


def own_name(code: str) -> str:
    """A language in its own words, as a menu shows it: "Deutsch", "Français", "日本語"."""
    name = Locale.parse(code).display_name or code
    return name[:1].upper() + name[1:]


def menu() -> list[tuple[str, str]]:
    """(code, own name) of every shipped locale; empty when there is nothing to choose."""
    codes = shipped()
    return [(code, own_name(code)) for code in codes] if len(codes) > 1 else []


# --- Dates and numbers (the `date`, `datetime` and `number` template filters) ---


def _english() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "en"


def format_datetime(value: datetime | None) -> str:
    """A moment in the giveaway's time zone, with the zone named."""
    if value is None:
        return EMPTY
    if _english():
        return str(babel_format_datetime(value, _ENGLISH_DATETIME))
    locale = get_locale()
    assert locale is not None
    pattern = (
        str(locale.datetime_formats["medium"])
        .replace("{1}", locale.date_formats["medium"].pattern)
        .replace("{0}", locale.time_formats["short"].pattern + " z")
    )
    return str(babel_format_datetime(value, pattern))


def format_date(value: date | datetime | None) -> str:
    """A day (in the giveaway's time zone when it is a moment)."""
    if value is None:
        return EMPTY
    return str(babel_format_date(value, _ENGLISH_DATE if _english() else "medium"))


def format_number(value: int | float | None) -> str:
    """A count with the locale's grouping: 12,345 / 12.345 / 12 345."""
    return EMPTY if value is None else str(format_decimal(value))


def format_wordlist(items: Iterable[str]) -> str:
    """Items as the locale lists them in a sentence: "a, b and c", "a、b、c"."""
    return str(format_list(list(items), locale=get_locale() or default()))


def time_zone() -> str:
    """The zone dates are shown in (its IANA name)."""
    return str(get_timezone())


# --- Settings and wiring ---


def check_settings() -> None:
    """Raise ValueError when LANGUAGES or the default locale cannot be served."""
    codes = current_app.config.get("LANGUAGES")
    if not isinstance(codes, list | tuple) or not codes:
        raise ValueError(f"LANGUAGES must be a non-empty list of locales, not {codes!r}")
    for code in codes:
        try:
            Locale.parse(code)
        except (ValueError, TypeError, UnknownLocaleError) as exc:
            raise ValueError(f"LANGUAGES names {code!r}, which is not a locale: {exc}") from exc
    if default() not in codes:
        raise ValueError(f"BABEL_DEFAULT_LOCALE {default()!r} must be one of LANGUAGES {codes!r}")


def init_app(app: Flask) -> None:
    """Bind Flask-Babel (after the settings are loaded), the filters and the menu."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    # Dates show in the giveaway's time zone (GIVEAWAY_TIMEZONE) unless Babel's is set.
    app.config["BABEL_DEFAULT_TIMEZONE"] = (
        app.config.get("BABEL_DEFAULT_TIMEZONE") or app.config.get("GIVEAWAY_TIMEZONE") or "UTC"
    )
    babel.init_app(app, locale_selector=select_locale)
    user_logged_in.connect(remember_browser, app)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["wordlist"] = format_wordlist

    @app.context_processor
    def language() -> dict[str, object]:
        return {"html_lang": html_lang, "current_locale": current, "language_menu": menu}
