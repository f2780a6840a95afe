"""The security-key giveaway portal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from giveaway import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Areas of the portal, each a subpackage with a `views.bp` blueprint.
BLUEPRINTS = (
    "giveaway.main.views",
    "giveaway.accounts.views",
    "giveaway.admin.views",
    "giveaway.twofactor.views",
    "giveaway.claims.views",
    "giveaway.claims.admin_views",
    "giveaway.critical.admin_views",
    "giveaway.privacy.views",
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the portal: settings, extensions, blueprints, errors, commands."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    settings.load(app, test_config)
    settings.check(app)
    configure_logging(app)
    register_url_converters(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security(app)
    register_template_helpers(app)
    register_commands(app)
    register_observability(app)
    return app


def configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # Migrations narrate every step at INFO; commands say one summary line.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def register_url_converters(app: Flask) -> None:
    """Before the blueprints: numbers in URLs stay within a database integer."""
    from giveaway import security

    security.bounded_url_numbers(app)


def register_extensions(app: Flask) -> None:
    from giveaway import db, extensions, mail

    db.init_app(app)
    mail.init_app(app)
    extensions.init_app(app)


def register_blueprints(app: Flask) -> None:
    import importlib

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)


def register_errorhandlers(app: Flask) -> None:
    from giveaway import errors

    errors.init_app(app)


def register_security(app: Flask) -> None:
    from giveaway import security

    security.init_app(app)


def register_template_helpers(app: Flask) -> None:
    from giveaway import templating

    templating.init_app(app)


def register_observability(app: Flask) -> None:
    """Last: metrics, logs and error reports see every route and cron command."""
    from giveaway import observability

    observability.init_app(app)


def register_commands(app: Flask) -> None:
    from giveaway import cli

    cli.init_app(app)
    # After every area's commands are in: each runs inside the app context.
    cli.run_in_app_context(app)
