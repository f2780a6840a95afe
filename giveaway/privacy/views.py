"""/account/history, /account/delete, and an administrator's /admin/users/<id>/delete."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from giveaway import db
from giveaway.accounts.models import User
from giveaway.accounts.passwords import verify_password
from giveaway.claims.claim import claimed_code
from giveaway.extensions import limiter
from giveaway.privacy import service
from giveaway.privacy.forms import AdminDeleteAccountForm, DeleteAccountForm
from giveaway.twofactor.access import admin_required

bp = Blueprint("privacy", __name__)


def _me() -> User:
    return current_user._get_current_object()


@bp.get("/account/history")
@login_required
def history() -> ResponseReturnValue:
    return render_template(
        "privacy/history.html", lines=service.history(db.session(), _me()), limit=200
    )


def _delete_page(form: DeleteAccountForm, status: int = 200) -> ResponseReturnValue:
    claim = claimed_code(db.session(), _me())
    return render_template("privacy/delete.html", form=form, claim=claim), status


@bp.get("/account/delete")
@login_required
def delete_account() -> ResponseReturnValue:
    return _delete_page(DeleteAccountForm())


@bp.post("/account/delete")
@login_required
@limiter.limit(lambda: _login_limit(), key_func=lambda: _rate_key(), methods=["POST"])
def delete_account_post() -> ResponseReturnValue:
    form = DeleteAccountForm()
    user = _me()
    if not form.validate_on_submit():
        return _delete_page(form, 400)
    if user.is_admin:
        form.password.errors = [
            _(
                "An administrator's account is deleted by another administrator, so that the "
                "portal is never left without one."
            )
        ]
        return _delete_page(form, 400)
    if not verify_password(user.password_hash, form.password.data or ""):
        form.password.errors = [_("That is not your password.")]
        return _delete_page(form, 400)
    service.delete_account(db.session(), user, actor=user)
    logout_user()
    cookie_session.clear()
    flash(_("Your account is deleted. We emailed you a confirmation."), "success")
    return redirect(url_for("main.index"), 303)


def _rate_key() -> str:
    # Guessing the password here is guessing it at sign-in: the same limit, per person.
    if current_user.is_authenticated:
        return f"delete:user:{current_user.id}"

    return f"delete:ip:{get_remote_address()}"


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


def _target(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _admin_page(user: User, form: AdminDeleteAccountForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "privacy/admin_delete.html", user=user, form=form, deleted=service.is_deleted(user)
    ), status


@bp.get("/admin/users/<int:user_id>/delete")
@admin_required
def admin_delete(user_id: int) -> ResponseReturnValue:
    return _admin_page(_target(user_id), AdminDeleteAccountForm())


@bp.post("/admin/users/<int:user_id>/delete")
@admin_required
def admin_delete_post(user_id: int) -> ResponseReturnValue:
    user = _target(user_id)
    form = AdminDeleteAccountForm()
    if not form.validate_on_submit():
        return _admin_page(user, form, 400)
    if service.is_deleted(user):
        form.confirm_username.errors = ["This account is already deleted."]
        return _admin_page(user, form, 400)
    if (form.confirm_username.data or "").strip().lower() != user.username.lower():
        form.confirm_username.errors = [
            f"That is not this account's username. Type {user.username} to confirm."
        ]
        return _admin_page(user, form, 400)
    if user.id == current_user.id:
        form.confirm_username.errors = ["Another administrator has to delete your account."]
        return _admin_page(user, form, 400)
    name = user.username
    service.delete_account(db.session(), user, actor=_me())
    flash(f"The account of {name} is deleted; they were emailed a confirmation.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)
