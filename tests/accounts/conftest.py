"""Helpers shared by the account tests."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask

from tests.conftest import Outbox

NEW_PASSWORD = "another-long-passphrase"  # noqa: S105


def link_path(outbox: Outbox, address: str, kind: str) -> str:
    """The path of the newest /account/<kind>/… link mailed to `address`."""
    for message in reversed(outbox.to(address)):
        for link in outbox.links(message):
            path = urlsplit(link).path
            if path.startswith(f"/account/{kind}/"):
                return path
    raise AssertionError(f"no /account/{kind}/ link mailed to {address}")


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def without_tokens(html: str) -> str:
    """The page with its per-request CSRF token blanked, for comparing answers."""
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", html)


def events_of(app: Flask, kind: str) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from giveaway import db
    from giveaway.events.models import Event

    with app.app_context():
        found = list(db.session().scalars(select(Event).where(Event.kind == kind)))
        db.session().expunge_all()  # readable after the context ends
        return found


def get_user(app: Flask, username: str):  # type: ignore[no-untyped-def]
    from giveaway import db
    from giveaway.accounts import service

    with app.app_context():
        user = service.by_username(db.session(), username)
        if user is not None:
            db.session().expunge(user)
        return user


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match
    return match.group(1)
