"""The security-key giveaway portal."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from giveaway import (
    commands,
    db,
    errors,
    extensions,
    i18n,
    mail,
    observability,
    security,
    settings,
    templating,
)
from giveaway.accounts import loader
from giveaway.accounts import views as accounts_views
from giveaway.admin import mandate
from giveaway.admin import views as admin_views
from giveaway.claims import admin_views as claims_admin_views
from giveaway.claims import eligibility, facts, standing
from giveaway.claims import views as claims_views
from giveaway.critical import admin_views as critical_admin_views
from giveaway.i18n import views as language_views
from giveaway.main import views as main_views
from giveaway.privacy import views as privacy_views
from giveaway.twofactor import changes as twofactor_changes
from giveaway.twofactor import views as twofactor_views

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Areas of the portal, each a subpackage with a `views.bp` blueprint.
BLUEPRINTS = (
    main_views.bp,
    accounts_views.bp,
    admin_views.bp,
    twofactor_views.bp,
    claims_views.bp,
    claims_admin_views.bp,
    critical_admin_views.bp,
    privacy_views.bp,
    language_views.bp,
)

# Each area's own settings, checked with the rest by settings.check at start-up.
SETTINGS_CHECKS = (
    mail.check_settings,
    eligibility.check_settings,
    mandate.check_settings,
    observability.check_settings,
    i18n.check_settings,
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
    settings.check(app, SETTINGS_CHECKS)
    configure_logging(app)
    register_url_converters(app)
    register_extensions(app)
    register_blueprints(app)
    connect_areas(app)
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
    security.bounded_url_numbers(app)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    mail.init_app(app)
    extensions.init_app(app)
    i18n.init_app(app)
    loader.init_app(app)
    # The giveaway's pages read what they need about the account with the account.
    facts.init_app(app)


def register_blueprints(app: Flask) -> None:
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)


def connect_areas(app: Flask) -> None:
    """What an area asks of another that imports it (so it cannot import it back)."""
    # Turning on 2FA asks the giveaway whether that would cost the free keys.
    twofactor_changes.init_app(app, keys_at_stake=eligibility.could_still_claim)
    # The account page shows where the account stands (2FA methods and the giveaway).
    app.add_template_global(standing.of_current_user, "account_standing")


def register_errorhandlers(app: Flask) -> None:
    errors.init_app(app)


def register_security(app: Flask) -> None:
    security.init_app(app)


def register_template_helpers(app: Flask) -> None:
    templating.init_app(app)


def register_observability(app: Flask) -> None:
    """Last: metrics, logs and error reports see every route and cron command."""
    observability.init_app(app)


def register_commands(app: Flask) -> None:
    """Every command, from the one list in giveaway.commands."""
    for command in commands.ALL:
        app.cli.add_command(command)
