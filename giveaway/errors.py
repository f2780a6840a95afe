"""Friendly error pages (HTML) for every 4xx and 5xx, and no dead ends.

Two answers lead on instead of stopping: an address that only receives a
form, opened as a page (a bookmark, a reload, the address bar after a refused
form), goes to the page where that form lives; a form whose CSRF token has
expired goes back to its page with one sentence of why, and nothing is done.
The JSON endpoints of the key ceremony keep answering JSON.
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlencode

from flask import Flask, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, lazy_gettext, ngettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from giveaway import db
from giveaway.extensions import limiter, login_manager

log = logging.getLogger(__name__)


def messages(code: int) -> tuple[str, str]:
    """The title and sentence of the error page for `code`, in the reader's language."""
    if code == 400:
        return _("Bad request"), _(
            "The request could not be understood. Please go back and try again."
        )
    if code == 403:
        return _("Not allowed"), _(
            "You do not have permission to see this page. If you should, sign out and sign in "
            "with the account that has it."
        )
    if code == 404:
        return _("Page not found"), _(
            "There is no page at this address. Check the link, or start from the home page."
        )
    if code == 405:
        return _("Not allowed"), _(
            "This page cannot be used that way. Go back to the page you came from and use its form."
        )
    if code == 413:
        return _("Too large"), _("What you sent is larger than this site accepts.")
    if code == 429:
        return _("Too many attempts"), _(
            "You have tried this too often in a short time. Please wait a little and try again."
        )
    if code == 503:
        return _("Temporarily unavailable"), _(
            "The portal cannot reach its database right now. Please try again in a minute."
        )
    if code == 500 or code > 500:
        return _("Something went wrong"), _(
            "An error on our side stopped this page. It has been logged; please try again in a "
            "moment."
        )
    return messages(400)


# Where the form of each address that only receives forms (POST) lives. A GET
# there is sent to that page; every POST-only route must have a row (a test
# walks `flask routes`). Routes that also answer GET are their own form page.
FORM_PAGES: dict[str, str] = {
    "accounts.change_password": "accounts.account",
    "accounts.logout": "main.index",
    "accounts.resend_verification": "accounts.account",
    "admin.reset_2fa": "admin.user_detail",
    "claims_admin.confirm_upload": "claims_admin.batches",
    "claims_admin.upload": "claims_admin.batches",
    "claims_admin.void_code": "claims_admin.batches",
    "giveaway.claim": "giveaway.index",
    "giveaway.notify": "giveaway.index",
    "giveaway.setup_sign_in": "giveaway.setup",
    "language.choose": "main.index",
    "twofactor.register_key": "twofactor.security",
    "twofactor.register_options": "twofactor.security",
    "twofactor.remove_key": "twofactor.security",
    "twofactor.signin_cancel": "accounts.login",
    "twofactor.signin_options": "twofactor.challenge",
    "twofactor.signin_recovery": "twofactor.challenge",
    "twofactor.signin_totp": "twofactor.challenge",
    "twofactor.signin_webauthn": "twofactor.challenge",
    "twofactor.totp_remove": "twofactor.security",
}

# Worded when said (in the reader's language): str() of them at use time.
FORM_ONLY = lazy_gettext(
    "That address only receives a form, so you have been brought to the page the form is on."
)
FORM_EXPIRED = lazy_gettext(
    "Your session expired before the form was sent, so nothing was done. "
    "Please check the form and send it again."
)
FORM_EXPIRED_JSON = lazy_gettext(
    "Your session expired, so nothing was done. Reload the page and try again."
)


def render_error(
    code: int, description: str | None = None, retry_after: int | None = None
) -> ResponseReturnValue:
    title, default_text = messages(code)
    if code == 429 and description is None:
        description = too_many_attempts(retry_after)
    if code == 413 and description is None:
        description = too_large(current_app.config.get("MAX_CONTENT_LENGTH"))
    response = render_template(
        "errors/error.html", code=code, title=title, message=description or default_text
    )
    headers = {}
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return response, code, headers


def too_many_attempts(retry_after: int | None) -> str:
    """The 429 sentence, saying how long to wait when the limit says so."""
    if not retry_after:
        return messages(429)[1]
    return _(
        "You have tried this too often in a short time. Please wait %(wait)s and try again.",
        wait=wait_phrase(retry_after),
    )


def too_large(limit: int | None) -> str:
    """The 413 sentence, with the limit and what to do."""
    if not limit:
        return messages(413)[1]
    if limit >= 1_000_000:
        size = _("%(number)s MB", number=format_decimal(limit / 1_000_000))
    else:
        size = _("%(number)s kB", number=format_decimal(limit // 1000))
    return _(
        "What you sent is larger than this site accepts (at most %(size)s at once). "
        "Send a smaller file, or split it into parts.",
        size=size,
    )


def wait_phrase(seconds: int) -> str:
    """A wait in words: "45 seconds", "about 3 minutes", "about 2 hours"."""
    if seconds <= 90:
        return ngettext(
            "%(count)s second", "%(count)s seconds", seconds, count=format_decimal(seconds)
        )
    if seconds < 5400:
        minutes = math.ceil(seconds / 60)
        return ngettext(
            "about %(count)s minute",
            "about %(count)s minutes",
            minutes,
            count=format_decimal(minutes),
        )
    hours = math.ceil(seconds / 3600)
    return ngettext(
        "about %(count)s hour", "about %(count)s hours", hours, count=format_decimal(hours)
    )


def wants_json() -> bool:
    """The key ceremony's fetches send and accept JSON; forms and address bars do not."""
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def form_page(method: str) -> str | None:
    """The page that holds the form posted to (or opened at) the current address.

    An address that also answers GET is its own page (with its query string,
    and the `next` a sign-in form carried in a hidden field); a POST-only one
    is looked up in FORM_PAGES. None when the address is not the portal's.
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        rule, args = adapter.match(method=method, return_rule=True)
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    try:
        page, _page_args = adapter.match(method="GET", return_rule=True)
    except (NotFound, MethodNotAllowed, RequestRedirect):
        page = None
    # /account/verify/resend is also read as /account/verify/<token>: not its page.
    if page is None or page.rule != rule.rule:
        home = FORM_PAGES.get(rule.endpoint)
        if home is None:
            return None
        wanted = set().union(*(r.arguments for r in current_app.url_map.iter_rules(home)))
        return url_for(home, **{k: v for k, v in args.items() if k in wanted})
    query = request.args.to_dict(flat=True)
    carried = request.form.get("next")
    if carried and "next" not in query:
        query["next"] = carried
    return request.path + ("?" + urlencode(query) if query else "")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        target = form_page(request.method)
        if wants_json():
            body = {"error": str(FORM_EXPIRED_JSON)}
            if target:
                body["redirect"] = target
            return jsonify(body), 400
        if target is None:
            return render_error(400, str(FORM_EXPIRED))
        flash(str(FORM_EXPIRED), "warning")
        return redirect(target, 303)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        if error.code is None or error.code < 400:
            return error
        if error.code == 405 and request.method in ("GET", "HEAD"):
            target = form_page("POST")
            if target is not None:
                flash(str(FORM_ONLY), "info")
                return redirect(target, 303)
        retry_after = None
        if error.code == 429:
            retry_after = _retry_after(error)
            if wants_json():
                body = {"error": too_many_attempts(retry_after)}
                return jsonify(body), 429, {"Retry-After": str(retry_after)}
        description = None
        if (
            error.code not in (404, 405, 500, 503)
            and error.description
            and getattr(error, "friendly", False)
        ):
            description = error.description
        return render_error(error.code, description, retry_after)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(error: Exception) -> ResponseReturnValue:
        return database_error_response(error)

    @app.errorhandler(SQLAlchemyTimeoutError)
    def pool_exhausted(error: Exception) -> ResponseReturnValue:
        # Every pooled connection stayed busy for DATABASE_POOL_TIMEOUT: load.
        log.error("no free database connection on %s %s", request.method, request.path)
        _forget_failed_work()
        return render_error(503, str(BUSY), retry_after=5)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)


BUSY = lazy_gettext(
    "The portal is very busy right now and could not finish this in time. Nothing was "
    "changed; please try again in a few seconds."
)


def database_error_response(error: Exception) -> ResponseReturnValue:
    """The friendly page for a database error: 503 when it is unreachable or busy, else 500."""
    reason = _database_trouble(error)
    log.error(
        "database error on %s %s: %s (%s)",
        request.method,
        request.path,
        error.__class__.__name__,
        reason,
    )
    _forget_failed_work()
    if reason == "busy":
        # A lock or pool wait that ran out is load, not an unreachable database.
        return render_error(503, str(BUSY), retry_after=5)
    if getattr(error, "connection_invalidated", False) or isinstance(error, OperationalError):
        return render_error(503, retry_after=30)
    return render_error(500)


def _database_trouble(error: Exception) -> str:
    """ "busy", "refused" or "unreachable": what went wrong, for the page and the log."""
    text = str(getattr(error, "orig", None) or error).lower()
    if "database is locked" in text or "database table is locked" in text:
        return "busy"
    if "lock timeout" in text or "canceling statement due to lock timeout" in text:
        return "busy"
    if "too many clients" in text or "remaining connection slots are reserved" in text:
        return (
            "refused: the server is out of connections; size DATABASE_POOL_SIZE and "
            "DATABASE_MAX_OVERFLOW so that hosts x workers x (pool + overflow) stays "
            "below its max_connections"
        )
    return "unreachable"


def _forget_failed_work() -> None:
    """Before the error page: drop the failed transaction and the signed-in user.

    The page must render without the database: a session left in a failed
    transaction (or an expired user object) would query it again from the
    template and turn the friendly page into a bare 500. The visitor is shown
    the page as if signed out; their session cookie is untouched.
    """
    try:
        db.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone; the pool replaces it
        log.warning("could not roll back after a database error", exc_info=True)
    g._login_user = login_manager.anonymous_user()


def _retry_after(error: HTTPException) -> int:
    """Seconds until the breached rate limit lets requests through again."""
    try:
        current = limiter.current_limit
    except Exception:  # noqa: BLE001 - the storage may be down; a guess will do
        current = None
    if current is not None:
        # reset_at is a whole second: never say more than the window itself.
        left = math.ceil(current.reset_at - time.time())
        return max(1, min(left, current.limit.get_expiry()))
    value = error.get_response().headers.get("Retry-After")
    try:
        return max(1, int(value)) if value else 60
    except ValueError:
        return 60
