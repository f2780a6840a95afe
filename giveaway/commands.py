"""Every command of `giveaway`, listed in one place (`ALL`).

Every command validates its input, says what it did in one summary line, and
exits non-zero with a clear message on bad input, having changed nothing. The
commands of an area live in its `cli` module; the ones here belong to no area.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from giveaway import db, demo, mail, migrate
from giveaway.accounts import service as accounts
from giveaway.admin import cli as admin_cli
from giveaway.claims import cli as claims_cli
from giveaway.clitools import command, fail
from giveaway.critical import cli as critical_cli
from giveaway.privacy import cli as privacy_cli
from giveaway.projects.roles_import import import_roles


@command("init-db")
def init_db_command() -> None:
    """Create or upgrade the schema to the newest migration."""
    before, after = migrate.upgrade(db.engine())
    if before == after:
        click.echo(f"Schema is up to date (revision {after}).")
    else:
        click.echo(f"Schema upgraded from {before or 'empty'} to {after}.")


@command("create-admin")
@click.argument("username")
@click.option("--email", required=True, help="The administrator's email address.")
@click.option(
    "--password-file",
    type=click.File("r"),
    help="Read the password from the first line of this file ('-' for stdin).",
)
def create_admin_command(username: str, email: str, password_file: TextIO | None) -> None:
    """Create an administrator account (its email counts as verified)."""
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_admin(db.session(), username, email, password)
    except accounts.Problems as problems:
        lines = [f"{name}: {msg}" for name, msgs in problems.fields.items() for msg in msgs]
        fail("No admin created:\n  " + "\n  ".join(lines))
        return
    click.echo(f"Created admin {user.username} <{user.email}>.")


@command("import-roles")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path, allow_dash=True))
@click.option(
    "--full",
    is_flag=True,
    help="The file lists every role of each project it names: remove the roles it leaves out "
    "(a row 'project,,,' says a project has none left).",
)
def import_roles_command(file: Path, full: bool) -> None:
    """Import CSV project,username,email,role (Owner or Maintainer)."""
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


@command("demo")
@click.option(
    "--reset",
    is_flag=True,
    help="Start over: replace everything in the database with a new demo.",
)
def demo_command(reset: bool) -> None:
    """Build the demo database (or keep the one there) and print how to sign in.

    The demo is built when the database has none; otherwise it is kept, with its
    claims, keys and the admin's authenticator entry, until --reset.
    """
    try:
        lines = demo.build(reset=reset, say=click.echo)
    except demo.DemoRefused as exc:
        fail(str(exc))
        return
    for line in lines:
        click.echo(line)


@command("send-mail")
def send_mail_command() -> None:
    """Send the mail still waiting in the outbox (cron; safe on several hosts)."""
    sent, waiting = mail.retry_pending(db.session())
    click.echo(f"Sent {sent} waiting messages; {waiting} still waiting for the mail server.")


@command("make-migration", hidden=True)
@click.argument("message")
def make_migration_command(message: str) -> None:
    """(Developers) autogenerate a migration from the models."""
    migrate.revision(db.engine(), message)


ALL: list[click.Command] = [
    init_db_command,
    create_admin_command,
    import_roles_command,
    demo_command,
    make_migration_command,
    send_mail_command,
    *critical_cli.COMMANDS,
    *claims_cli.COMMANDS,
    *admin_cli.COMMANDS,
    *privacy_cli.COMMANDS,
]
