"""The `giveaway` command: a Flask CLI group over create_app.

Every command validates its input, says what it did in one summary line, and
exits non-zero with a clear message on bad input, having changed nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException, ScriptInfo, with_appcontext

from giveaway import db


def fail(message: str) -> None:
    """Stop the command with `message` on stderr and exit status 1."""
    raise click.ClickException(message)


def init_app(app: Flask) -> None:
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(import_roles_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(make_migration_command)
    app.cli.add_command(send_mail_command)
    register_area_commands(app)


def run_in_app_context(app: Flask) -> None:
    """Run every command of the app in its app context.

    The `giveaway` and `flask` groups push one themselves, but
    `app.test_cli_runner()` and other callers of `app.cli` do not.
    """
    for command in app.cli.commands.values():
        callback = command.callback
        if callback is not None and not getattr(callback, "_giveaway_appcontext", False):
            wrapped = with_appcontext(callback)
            wrapped._giveaway_appcontext = True  # type: ignore[attr-defined]
            command.callback = wrapped


def register_area_commands(app: Flask) -> None:
    """Each area adds its own commands."""
    from giveaway.critical import cli as critical_cli

    critical_cli.init_app(app)


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the schema to the newest migration."""
    from giveaway import migrate

    before, after = migrate.upgrade(db.engine())
    if before == after:
        click.echo(f"Schema is up to date (revision {after}).")
    else:
        click.echo(f"Schema upgraded from {before or 'empty'} to {after}.")


@click.command("create-admin")
@click.argument("username")
@click.option("--email", required=True, help="The administrator's email address.")
@click.option(
    "--password-file",
    type=click.File("r"),
    help="Read the password from the first line of this file ('-' for stdin).",
)
@db.transactional
def create_admin_command(username: str, email: str, password_file) -> None:  # type: ignore[no-untyped-def]
    """Create an administrator account (its email counts as verified)."""
    from giveaway.accounts import service

    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = service.create_admin(db.session(), username, email, password)
    except service.Problems as problems:
        lines = [f"{name}: {msg}" for name, msgs in problems.fields.items() for msg in msgs]
        fail("No admin created:\n  " + "\n  ".join(lines))
        return
    click.echo(f"Created admin {user.username} <{user.email}>.")


@click.command("import-roles")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option(
    "--full",
    is_flag=True,
    help="The file lists every role of each project it names: remove the roles it leaves out "
    "(a row 'project,,,' says a project has none left).",
)
@db.transactional
def import_roles_command(file: Path, full: bool) -> None:
    """Import CSV project,username,email,role (Owner or Maintainer)."""
    from giveaway.accounts import service as accounts
    from giveaway.projects.roles_import import import_roles

    text = _read_text(file)
    report = import_roles(db.session(), text, full=full)
    if not report.ok:
        fail(report.bad.render(f"{file}: {report.bad.count} bad rows, nothing imported:"))
    if report.skipped:
        heading = f"{file}: {report.skipped.count} rows skipped (the rest is imported):"
        click.echo(report.skipped.render(heading), err=True)
    for user in report.activations:
        accounts.send_activation(user)
    click.echo(f"Imported {file}: {report.summary()}.")


def _read_text(file: Path) -> str:
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
        raise
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{file} is not UTF-8 text (byte {exc.start}): nothing imported")
        raise


@click.command("demo")
@click.option("--reset/--no-reset", default=True, help="Start from an empty database.")
def demo_command(reset: bool) -> None:
    """Build a demo database with realistic data and print how to sign in."""
    from giveaway import demo

    lines = demo.build(reset=reset)
    for line in lines:
        click.echo(line)


@click.command("send-mail")
def send_mail_command() -> None:
    """Send the mail still waiting in the outbox (cron; safe on several hosts)."""
    from giveaway import mail

    sent, waiting = mail.retry_pending(db.session())
    db.commit()
    click.echo(f"Sent {sent} waiting messages; {waiting} still waiting for the mail server.")


@click.command("make-migration", hidden=True)
@click.argument("message")
def make_migration_command(message: str) -> None:
    """(Developers) autogenerate a migration from the models."""
    from giveaway import migrate

    migrate.revision(db.engine(), message)


class SettingsRefused(NoAppException):
    """The settings stop the app from starting (shown without a traceback)."""


def create_app_for_cli() -> Flask:
    from giveaway import create_app
    from giveaway.settings import SettingsError

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

    def invoke(self, ctx: click.Context):  # type: ignore[no-untyped-def]
        from sqlalchemy.exc import OperationalError

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
