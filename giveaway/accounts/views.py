from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter import RouteLimit
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm

from giveaway import db
from giveaway.accounts import breached, limits, passwords, service, tokens
from giveaway.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    NewPasswordForm,
    RegisterForm,
    ResendVerificationForm,
    ResetRequestForm,
)
from giveaway.accounts.loader import start_session
from giveaway.errors import render_error
from giveaway.extensions import limiter
from giveaway.security import safe_next
from giveaway.twofactor import signin

bp = Blueprint("accounts", __name__, url_prefix="/account")


@bp.app_errorhandler(passwords.Busy)
def hashing_busy(error: passwords.Busy) -> ResponseReturnValue:
    """Every password-hashing slot stayed taken: ask to come back, never hang."""
    return render_error(503, str(error.description), retry_after=passwords.Busy.retry_after_seconds)


def _limit(setting: str) -> RouteLimit:
    return limiter.limit(lambda: current_app.config[setting], methods=["POST"])


def _apply(form: FlaskForm, problems: service.Problems, *, only_quiet_fields: bool = False) -> None:
    """Show the service's messages on the form's fields.

    With `only_quiet_fields`, fields that already have a message keep just that one.
    """
    for name, messages in problems.fields.items():
        field = getattr(form, name)
        if only_quiet_fields and field.errors:
            continue
        field.errors = list(field.errors) + messages


@bp.route("/register", methods=["GET", "POST"])
@_limit("RATELIMIT_REGISTER")
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    form = RegisterForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user = service.register(
                    db.session(),
                    form.username.data or "",
                    form.email.data or "",
                    form.password.data or "",
                )
            except service.Problems as refused:
                _apply(form, refused)
            else:
                service.record_login(db.session(), user, method="registration")
                start_session(user)
                flash(
                    _(
                        "Welcome, %(username)s! We sent a link to %(email)s: "
                        "open it to verify your email address.",
                        username=user.username,
                        email=user.email,
                    ),
                    "success",
                )
                return redirect(url_for("accounts.account"))
        else:
            # Report every broken rule at once, not one per attempt.
            problems, _email = service.registration_problems(
                db.session(),
                form.username.data or "",
                form.email.data or "",
                form.password.data or "",
                check_breach=False,
            )
            _apply(form, problems, only_quiet_fields=True)
        status = 400
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
@limits.sign_in_limit
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"), url_for("accounts.account"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            password = form.password.data or ""
            user = service.authenticate(db.session(), form.username.data or "", password)
            if user is not None and breached.stop_if_breached(db.session(), user, password):
                # Not signed in: the new password comes from the emailed link.
                return _login_refused(form, next_url, str(breached.MESSAGE), 403)
            if user is not None:
                if signin.needs_second_factor(user, next_url):
                    # Not signed in yet: the second factor comes first.
                    return redirect(url_for("twofactor.challenge"))
                service.record_login(db.session(), user)
                start_session(user)
                flash(_("Signed in as %(username)s.", username=user.username), "success")
                return redirect(next_url)
            if breached.is_turned_off(
                service.by_username(db.session(), (form.username.data or "").strip()), password
            ):
                return _login_refused(form, next_url, str(breached.MESSAGE_AGAIN), 403)
            form.password.errors = list(form.password.errors) + [
                _("The username or password is not correct.")
            ]
            status = 401
        else:
            status = 400
    return render_template("accounts/login.html", form=form, next=next_url), status


def _login_refused(
    form: LoginForm, next_url: str, message: str, status: int
) -> ResponseReturnValue:
    form.password.errors = [message]
    return render_template("accounts/login.html", form=form, next=next_url, breached=True), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.index"))


@bp.get("/")
@login_required
def account() -> ResponseReturnValue:
    return render_template(
        "accounts/account.html",
        resend_form=ResendVerificationForm(),
        password_form=ChangePasswordForm(),
    )


@bp.post("/verify/resend")
@login_required
@_limit("RATELIMIT_PASSWORD_RESET")
@limits.resend_limit
def resend_verification() -> ResponseReturnValue:
    form = ResendVerificationForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.email_verified:
        flash(_("Your email address is already verified."), "info")
    else:
        service.send_verification(current_user)
        flash(
            _("We sent a new verification link to %(email)s.", email=current_user.email), "success"
        )
    # Pages that offer the button (the set-up walkthrough) say where to come back to.
    return redirect(safe_next(request.args.get("next"), url_for("accounts.account")))


@bp.get("/verify/<token>")
def verify_email(token: str) -> ResponseReturnValue:
    try:
        user = service.verify_email(db.session(), token)
    except tokens.TokenError as exc:
        return render_template("accounts/link_problem.html", message=exc.message), 400
    flash(_("Thank you: %(email)s is verified.", email=user.email), "success")
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    return redirect(url_for("accounts.login"))


@bp.post("/password")
@login_required
@_limit("RATELIMIT_LOGIN")  # it checks the current password: a guessing surface too
@limits.change_password_limit
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not passwords.verify_password(
            current_user.password_hash, form.current_password.data or ""
        ):
            form.current_password.errors = [_("Your current password is not correct.")]
        else:
            try:
                service.set_password(
                    db.session(), current_user, form.password.data or "", kind="password:changed"
                )
            except service.Problems as problems:
                _apply(form, problems)
            else:
                user = current_user._get_current_object()
                start_session(user)
                flash(_("Your password is changed. Other sessions are signed out."), "success")
                return redirect(url_for("accounts.account"))
    return (
        render_template(
            "accounts/account.html", resend_form=ResendVerificationForm(), password_form=form
        ),
        400,
    )


@bp.route("/reset", methods=["GET", "POST"])
@_limit("RATELIMIT_PASSWORD_RESET")
@limits.reset_limit
def forgot_password() -> ResponseReturnValue:
    form = ResetRequestForm()
    if request.method == "POST":
        if form.validate_on_submit():
            service.request_password_reset(db.session(), form.identifier.data or "")
            return render_template("accounts/reset_sent.html")
        return render_template("accounts/forgot_password.html", form=form), 400
    return render_template("accounts/forgot_password.html", form=form)


def _password_link(
    token: str, purpose: tokens.Purpose, kind: str, template: str
) -> ResponseReturnValue:
    try:
        user = service.load_password_token(db.session(), token, purpose)
    except tokens.TokenError as exc:
        return render_template("accounts/link_problem.html", message=exc.message), 400
    form = NewPasswordForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                service.set_password(db.session(), user, form.password.data or "", kind=kind)
            except service.Problems as problems:
                _apply(form, problems)
            else:
                if signin.needs_second_factor(user, url_for("accounts.account")):
                    # A password link proves the email, not the second factor.
                    flash(_("Your password is set. Now confirm it is you."), "success")
                    return redirect(url_for("twofactor.challenge"))
                service.record_login(db.session(), user, method=kind)
                start_session(user)
                flash(_("Your password is set and you are signed in."), "success")
                return redirect(url_for("accounts.account"))
        return render_template(template, form=form, user=user), 400
    return render_template(template, form=form, user=user)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_PASSWORD_RESET")
def reset_password(token: str) -> ResponseReturnValue:
    return _password_link(
        token, tokens.Purpose.RESET_PASSWORD, "password:reset", "accounts/reset_password.html"
    )


@bp.route("/activate/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_PASSWORD_RESET")
def activate(token: str) -> ResponseReturnValue:
    return _password_link(
        token, tokens.Purpose.ACTIVATE, "account:activated", "accounts/activate.html"
    )
