"""The `giveaway` command: a Flask CLI group over create_app.

Every command validates its input, says what it did in one summary line, and
exits non-zero with a clear message on bad input, having changed nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup

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
    register_area_commands(app)


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
@db.transactional
def import_roles_command(file: Path) -> None:
    """Import CSV project,username,email,role (Owner or Maintainer)."""
    from giveaway.accounts import service as accounts
    from giveaway.projects.roles_import import import_roles

    text = _read_text(file)
    report = import_roles(db.session(), text)
    if not report.ok:
        shown = report.errors[:50]
        more = len(report.errors) - len(shown)
        lines = "\n  ".join(str(e) for e in shown)
        tail = f"\n  … and {more} more" if more else ""
        fail(f"{file}: {len(report.errors)} bad rows, nothing imported:\n  {lines}{tail}")
    for user in report.new_users:
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


@click.command("make-migration", hidden=True)
@click.argument("message")
def make_migration_command(message: str) -> None:
    """(Developers) autogenerate a migration from the models."""
    from giveaway import migrate

    migrate.revision(db.engine(), message)


def create_app_for_cli() -> Flask:
    from giveaway import create_app
    from giveaway.settings import SettingsError

    try:
        return create_app()
    except SettingsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


main = FlaskGroup(
    create_app=create_app_for_cli,
    help="The security-key giveaway portal.",
    set_debug_flag=False,
    load_dotenv=False,
)
