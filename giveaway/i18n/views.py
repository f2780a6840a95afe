"""The language menu: POST /language saves the choice and returns to the page."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from giveaway import i18n
from giveaway.security import FriendlyBadRequest, safe_next

bp = Blueprint("language", __name__)


def return_address() -> str:
    """Where the menu brings the reader back: this page, with where it leads next
    (a sign-in's `next`, when it plainly stays on this site: nothing percent-encoded).
    Nothing else of the query is carried: the menu must not echo what a hand-made
    address put there."""
    leads_to = safe_next(request.args.get("next"), "")
    if "%" in leads_to:
        leads_to = ""
    return request.path + (f"?{urlencode({'next': leads_to})}" if leads_to else "")


@bp.app_context_processor
def menu_return() -> dict[str, object]:
    return {"language_return": return_address}


@bp.post("/language")
def choose() -> ResponseReturnValue:
    """On the account for a signed-in person, in a cookie for a visitor."""
    code = request.form.get("locale", "")
    if not i18n.is_shipped(code):
        raise FriendlyBadRequest(gettext("Choose one of the languages in the menu."))
    response = redirect(safe_next(request.form.get("next"), url_for("main.index")))
    if current_user.is_authenticated:
        # Saved with the request's work (committed at the boundary, giveaway.db).
        current_user.locale = code
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=i18n.COOKIE_MAX_AGE,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response
