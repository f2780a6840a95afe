"""When a promo code stops working, in the giveaway's time zone.

An admin (or `giveaway load-codes`) gives the last day a batch's codes can be
used. That day ends at midnight in the giveaway's time zone
(GIVEAWAY_TIMEZONE, an IANA name such as "Europe/Berlin"): the batch is
stored with that exact instant in UTC, and `expires_at <= now` (lifecycle.py)
is then true from the first moment of the next day, never before. Every page,
email and export says the expiry the same way, with `describe`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from flask import current_app, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _

from giveaway import settings

DEFAULT_ZONE = "UTC"


def zone() -> ZoneInfo:
    """The giveaway's time zone (checked at start-up by settings.check; UTC outside an app)."""
    if has_app_context():
        return settings.time_zone(current_app.config.get("GIVEAWAY_TIMEZONE", DEFAULT_ZONE))
    return ZoneInfo(DEFAULT_ZONE)


def end_of_day(day: date, tz: tzinfo | None = None) -> datetime:
    """The instant (UTC) `day` ends in `tz`: midnight at the start of the next day."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz or zone())
    return local.astimezone(UTC)


def expiry_from_input(value: date | datetime | str, tz: tzinfo | None = None) -> datetime:
    """A batch's expiry from what was entered: a day means the end of that day in the
    giveaway's time zone; a date and time without a zone is read in that zone too.
    ValueError when a string is neither."""
    tz = tz or zone()
    if isinstance(value, str):
        value = value.strip()
        parsed: date | datetime = (
            date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        )
    else:
        parsed = value
    if isinstance(parsed, datetime):
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).astimezone(UTC)
    return end_of_day(parsed, tz)


def _local(expires_at: datetime, tz: tzinfo) -> datetime:
    return expires_at.astimezone(tz)


def ends_a_day(expires_at: datetime, tz: tzinfo | None = None) -> bool:
    """Whether the expiry falls exactly at a midnight of the giveaway's time zone."""
    local = _local(expires_at, tz or zone())
    return local.time() == time(0, 0)


def last_day(expires_at: datetime, tz: tzinfo | None = None) -> date:
    """The last day (in the giveaway's time zone) on which the code still works."""
    return _local(expires_at - timedelta(microseconds=1), tz or zone()).date()


def zone_label(tz: tzinfo | None = None) -> str:
    tz = tz or zone()
    name = getattr(tz, "key", None) or str(tz)
    return "UTC" if name == "UTC" else f"{name} time"


def _english() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "en"


def _day_words(day: date) -> str:
    """ "11 January 2027" in English; the locale's long date elsewhere ("11. Januar 2027")."""
    if _english():
        return f"{day.day} {day:%B %Y}"
    return str(babel_format_date(day, "long", locale=get_locale()))


def _hour_words(local: datetime) -> str:
    if _english():
        return f"{local:%H:%M}"
    return str(babel_format_time(local, "short", tzinfo=local.tzinfo, locale=get_locale()))


def describe(expires_at: datetime | None, *, short: bool = False) -> str:
    """The expiry as people are told it everywhere: "the end of 11 January 2027
    (Europe/Berlin time)", or "14:30 on 11 January 2027 (UTC)" for an expiry that
    is not at a midnight, in the locale speaking now (one sentence each, dates in the
    locale's words). `short` gives "end of 2027-01-11 (UTC)" for tables (admins only:
    English)."""
    if expires_at is None:
        return "—"
    tz = zone()
    label = zone_label(tz)
    name = getattr(tz, "key", None) or str(tz)
    if ends_a_day(expires_at, tz):
        day = last_day(expires_at, tz)
        if short:
            return f"end of {day.isoformat()} ({label})"
        if name == "UTC":
            return _("the end of %(day)s (UTC)", day=_day_words(day))
        return _("the end of %(day)s (%(zone)s time)", day=_day_words(day), zone=name)
    local = _local(expires_at, tz)
    if short:
        return f"{local:%Y-%m-%d %H:%M} ({label})"
    if name == "UTC":
        return _("%(time)s on %(day)s (UTC)", time=_hour_words(local), day=_day_words(local.date()))
    return _(
        "%(time)s on %(day)s (%(zone)s time)",
        time=_hour_words(local),
        day=_day_words(local.date()),
        zone=name,
    )
