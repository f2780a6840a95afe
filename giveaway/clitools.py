"""What every `giveaway` command shares: how it fails, and its one transaction.

Each command is declared with `command(...)` and listed once, in
`giveaway.commands.ALL`; nothing registers a command as a side effect of an
import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from flask.cli import with_appcontext

from giveaway import db


def fail(message: str) -> None:
    """Stop the command with `message` on stderr and exit status 1."""
    raise click.ClickException(message)


def command(name: str, **attrs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A `giveaway` command whose body runs in the app context, in one transaction.

    The body's session is committed when it returns (then the mail it queued is
    sent) and rolled back when it raises, `fail()` included: a command that
    stops on bad input has changed nothing. `app.test_cli_runner()` does not
    push an app context, so the command pushes one itself when none is active.
    """

    def decorator(fn: Callable[..., Any]) -> click.Command:
        return click.command(name, **attrs)(with_appcontext(db.transactional(fn)))

    return decorator
