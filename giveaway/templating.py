"""Template globals shared by every page (the date and number filters: giveaway.i18n)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    @app.context_processor
    def site() -> dict[str, object]:
        return {
            "site_name": app.config["SITE_NAME"],
            "index_name": app.config["INDEX_NAME"],
            "support_email": app.config["SUPPORT_EMAIL"],
        }
