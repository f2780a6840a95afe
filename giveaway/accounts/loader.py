"""Who is signed in: Flask-Login's user loader and its answer to the signed-out."""

from __future__ import annotations

import logging

from flask import Flask, flash, g, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_login import login_url, login_user
from sqlalchemy.exc import OperationalError

from giveaway import db
from giveaway.accounts.models import User
from giveaway.errors import render_error
from giveaway.extensions import login_manager

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)


def load_user(user_id: str) -> User | None:
    try:
        ident, version = (int(part) for part in user_id.split(":"))
    except ValueError:
        return None
    try:
        user = db.session().get(User, ident)
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
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def start_session(user: User) -> None:
    """Sign `user` in on a fresh session: nothing from before survives (fixation)."""
    session.clear()
    login_user(user)
    session.permanent = True
