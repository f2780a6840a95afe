"""Template globals and filters shared by every page."""

from __future__ import annotations

from datetime import datetime

from flask import Flask


def format_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    return value.strftime(fmt) if value else "—"


def format_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


def format_number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "—"


def init_app(app: Flask) -> None:
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["number"] = format_number

    @app.context_processor
    def site() -> dict[str, object]:
        return {
            "site_name": app.config["SITE_NAME"],
            "index_name": app.config["INDEX_NAME"],
            "support_email": app.config["SUPPORT_EMAIL"],
        }
