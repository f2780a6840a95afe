"""Who is signed in: Flask-Login's user loader and its answer to the signed-out.

Other areas may ask, per endpoint, for columns to be read with the user (what
their page needs to know about the account: `load_with`), so that a request
loads the signed-in account and those facts in one query. They get them back
with `loaded_with`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, current_app, flash, g, has_request_context, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import login_url, login_user
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import OperationalError

from giveaway import db
from giveaway.accounts.models import User
from giveaway.errors import render_error
from giveaway.extensions import login_manager

log = logging.getLogger(__name__)


# Columns over User to read with the signed-in user, by endpoint.
Columns = Callable[[], Mapping[str, ColumnElement[Any]]]
_LOAD_WITH = "accounts.load_with"
_LOADED = "accounts_loaded_with"


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    app.extensions.setdefault(_LOAD_WITH, {})


def load_with(app: Flask, endpoints: Iterable[str], columns: Columns) -> None:
    """On requests to `endpoints`, read the columns `columns()` names with the user."""
    for endpoint in endpoints:
        app.extensions[_LOAD_WITH][endpoint] = columns


def loaded_with(user: User) -> Mapping[str, Any] | None:
    """The columns read with `user` when this request signed them in (None otherwise)."""
    if not has_request_context():
        return None
    loaded = g.get(_LOADED)
    if loaded is None or loaded[0] != user.id:
        return None
    return loaded[1]


def _read(ident: int) -> User | None:
    wanted = None
    if has_request_context() and request.endpoint:
        wanted = current_app.extensions[_LOAD_WITH].get(request.endpoint)
    session = db.session()
    if wanted is None:
        return session.get(User, ident)
    named = wanted()
    stmt = select(User, *(c.label(n) for n, c in named.items())).where(User.id == ident)
    row = session.execute(stmt).first()
    if row is None:
        return None
    user, *values = row
    setattr(g, _LOADED, (ident, dict(zip(named, values, strict=True))))
    return user


def load_user(user_id: str) -> User | None:
    try:
        ident, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    try:
        user = _read(ident)
    except OperationalError:
        # The database is down: treat the visitor as signed out so the
        # friendly 503 page can still render.
        log.warning("could not load the signed-in user: database unavailable")
        db.rollback()
        g.database_unavailable = True
        return None
    # A password change or a 2FA reset bumps the version: older sessions end.
    if user is None or user.session_version != version or not user.is_active:
        return None
    return user


def unauthorized() -> ResponseReturnValue:
    # The database being down is not the visitor being signed out: sending a
    # signed-in maintainer to the sign-in page would only confuse them.
    if g.get("database_unavailable"):
        return render_error(503, retry_after=30)
    # Otherwise what Flask-Login does by default: a message and the sign-in page.
    flash(gettext(login_manager.login_message), login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def start_session(user: User) -> None:
    """Sign `user` in on a fresh session: nothing from before survives (fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True
