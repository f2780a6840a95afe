"""The `giveaway` console script: a Flask CLI group over create_app.

The commands themselves are listed in `giveaway.commands`.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException, ScriptInfo
from sqlalchemy.exc import OperationalError

from giveaway import create_app
from giveaway.settings import SettingsError


class SettingsRefused(NoAppException):
    """The settings stop the app from starting (shown without a traceback)."""


def create_app_for_cli() -> Flask:
    try:
        return create_app()
    except SettingsError as exc:
        raise SettingsRefused(str(exc)) from None


class GiveawayGroup(FlaskGroup):
    """`giveaway`: bad settings end a command with the reason and status 1.

    `giveaway --help` still lists the built-in commands, with the reason above.
    """

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if click.Group.get_command(self, ctx, name) is None:
            try:
                ctx.ensure_object(ScriptInfo).load_app()
            except NoAppException as exc:
                click.echo(f"Error: {exc.format_message()}", err=True)
                ctx.exit(1)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise click.ClickException(f"cannot reach the database: {reason}") from None


main = GiveawayGroup(
    create_app=create_app_for_cli,
    help="The security-key giveaway portal.",
    set_debug_flag=False,
    load_dotenv=False,
)
