"""Account security (adding and removing 2FA methods) and the 2FA step of sign-in."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from giveaway import clock, db
from giveaway.accounts import service as accounts_service
from giveaway.accounts.forms import ResendVerificationForm
from giveaway.accounts.loader import start_session
from giveaway.accounts.models import User
from giveaway.extensions import limiter
from giveaway.security import safe_next
from giveaway.twofactor import challenges, changes, keys, recovery, signin, status, totp
from giveaway.twofactor.forms import (
    PasswordConfirmForm,
    RecoveryConfirmForm,
    RecoveryGenerateForm,
    SignInRecoveryForm,
    SignInTotpForm,
    TotpConfirmForm,
)

bp = Blueprint("twofactor", __name__, url_prefix="/account")

TOTP_PENDING = "twofactor.totp_pending"


def _limit_value() -> str:
    return current_app.config["RATELIMIT_TWOFACTOR"]


def _pending_user_key() -> str:
    uid = signin.pending_user_id()
    return f"2fa-user:{uid}" if uid is not None else f"2fa-nobody:{get_remote_address()}"


def _current_user_key() -> str:
    if current_user.is_authenticated:
        return f"2fa-manage:{current_user.id}"
    return f"2fa-manage-anon:{get_remote_address()}"


# The second step of sign-in: per IP address and per user, across its forms.
signin_limit_ip = limiter.shared_limit(_limit_value, scope="2fa-signin-ip", methods=["POST"])
signin_limit_user = limiter.shared_limit(
    _limit_value, scope="2fa-signin-user", key_func=_pending_user_key, methods=["POST"]
)
# Fetching ceremony options checks nothing secret (pages fetch them on load):
# a looser limit of its own, so reloading a page does not eat the attempts.
options_limit_ip = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_TWOFACTOR_OPTIONS"],
    scope="2fa-options-ip",
    methods=["POST"],
)
options_limit_user = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_TWOFACTOR_OPTIONS"],
    scope="2fa-options-user",
    key_func=lambda: _pending_user_key() if signin.pending_user_id() else _current_user_key(),
    methods=["POST"],
)
# Changes that check a password or a code, per user.
manage_limit = limiter.shared_limit(
    _limit_value, scope="2fa-manage", key_func=_current_user_key, methods=["POST"]
)


def _json_error(message: str, http_status: int = 400, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), http_status


def _json_body() -> dict[str, Any] | None:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else None


def _show(form: Any, exc: changes.TwoFactorError) -> None:
    """A rule's message beside its field, or at the top of the page."""
    if exc.field and hasattr(form, exc.field):
        getattr(form, exc.field).errors = [exc.message]
    else:
        flash(exc.message, "error")


def _user() -> User:
    return current_user._get_current_object()


def _next() -> str | None:
    """Where a page that sent the user here wants them back (on this site only), or None."""
    target = safe_next(request.args.get("next"), "")
    return target or None


# --- account security ------------------------------------------------------------


def _security_page(http_status: int = 200, **forms: Any) -> ResponseReturnValue:
    user = _user()
    s = db.session()
    credentials = keys.registered(s, user)
    return (
        render_template(
            "twofactor/security.html",
            keys=credentials,
            methods=status.methods(s, user),
            keys_at_stake=changes.keys_at_stake(s, user),
            codes_low=recovery.recovery_codes_low(s, user),
            resend_form=ResendVerificationForm(),
            remove_forms=forms.get("remove_forms")
            or {key.id: PasswordConfirmForm(prefix=f"key{key.id}") for key in credentials},
            totp_remove_form=forms.get("totp_remove_form") or PasswordConfirmForm(prefix="totp"),
        ),
        http_status,
    )


@bp.get("/security")
@login_required
def security() -> ResponseReturnValue:
    return _security_page()


@bp.post("/security/webauthn/options")
@login_required
@options_limit_ip
@options_limit_user
def register_options() -> ResponseReturnValue:
    user = _user()
    try:
        options, challenge = keys.registration_options(db.session(), user)
    except changes.TwoFactorError as exc:
        return _json_error(exc.message, 403)
    challenges.store(challenges.REGISTER, challenge, user.id)
    return Response(options, mimetype="application/json")


@bp.post("/security/webauthn/register")
@login_required
@manage_limit
def register_key() -> ResponseReturnValue:
    user = _user()
    body = _json_body()
    if body is None:
        return _json_error(_("The browser's answer could not be read. Please try again."))
    s = db.session()
    # The box "I give up the free keys" is ticked (JSON true) or not.
    give_up_keys = body.get(changes.GIVE_UP_KEYS_FIELD) is True
    # Check the name and the confirmation first: either kept the challenge for another try.
    try:
        changes.require_verified_email(user)
        changes.require_giving_up_keys(s, user, give_up_keys)
        keys.check_label(s, user, body.get("label"))
    except changes.TwoFactorError as exc:
        return _json_error(exc.message, field=exc.field)
    had_2fa = status.has_2fa(user)
    try:
        challenge = challenges.take(s, challenges.REGISTER, user.id)
        key = keys.add_key(
            s,
            user,
            body.get("label"),
            body.get("credential"),
            challenge,
            give_up_keys=give_up_keys,
        )
    except changes.TwoFactorError as exc:
        return _json_error(exc.message, field=exc.field)
    flash(_('Your security key "%(label)s" is registered.', label=key.label), "success")
    target = url_for("twofactor.security")
    if recovery.due_after_adding(s, user, had_2fa_before=had_2fa):
        target = url_for("twofactor.recovery_codes")
    # Pages that embed the key box (a setup walkthrough) say where to go next.
    nxt = body.get("next")
    target = safe_next(nxt if isinstance(nxt, str) else None, target)
    return jsonify({"ok": True, "redirect": target})


@bp.post("/security/webauthn/<int:key_id>/remove")
@login_required
@manage_limit
def remove_key(key_id: int) -> ResponseReturnValue:
    form = PasswordConfirmForm(prefix=f"key{key_id}")
    if form.validate_on_submit():
        try:
            key = keys.remove_key(db.session(), _user(), key_id, form.password.data or "")
        except changes.TwoFactorError as exc:
            _show(form, exc)
        else:
            flash(_('The security key "%(label)s" is removed.', label=key.label), "success")
            return redirect(url_for("twofactor.security"))
    forms = {
        k.id: PasswordConfirmForm(prefix=f"key{k.id}")
        for k in keys.registered(db.session(), _user())
    }
    forms[key_id] = form
    return _security_page(400, remove_forms=forms)


@bp.route("/security/totp", methods=["GET", "POST"])
@login_required
@manage_limit
def totp_setup() -> ResponseReturnValue:
    user = _user()
    back = _next()
    if status.has_totp(user):
        flash(_("An authenticator app is already set up."), "info")
        return redirect(back or url_for("twofactor.security"))
    if not user.email_verified:
        return redirect(back or url_for("twofactor.security"))
    secret = session.get(TOTP_PENDING)
    if not isinstance(secret, str):
        secret = totp.new_totp_secret(user)
        session[TOTP_PENDING] = secret
    form = TotpConfirmForm()
    http_status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            had_2fa = status.has_2fa(user)
            try:
                totp.enable_totp(
                    db.session(),
                    user,
                    secret,
                    form.code.data or "",
                    give_up_keys=bool(form.give_up_keys.data),
                )
            except changes.TwoFactorError as exc:
                refused = form.give_up_keys if exc.field == "give_up_keys" else form.code
                refused.errors = [exc.message]
            else:
                session.pop(TOTP_PENDING, None)
                flash(_("Your authenticator app is set up."), "success")
                if recovery.due_after_adding(db.session(), user, had_2fa_before=had_2fa):
                    return redirect(url_for("twofactor.recovery_codes", next=back))
                return redirect(back or url_for("twofactor.security"))
        http_status = 400
    uri = totp.provisioning_uri(secret, user.username, totp.totp_issuer())
    return (
        render_template(
            "twofactor/totp_setup.html",
            form=form,
            qr=totp.qr_data_uri(uri),
            secret=totp.grouped(secret),
            back=back,
            keys_at_stake=changes.keys_at_stake(db.session(), user),
        ),
        http_status,
    )


@bp.post("/security/totp/remove")
@login_required
@manage_limit
def totp_remove() -> ResponseReturnValue:
    form = PasswordConfirmForm(prefix="totp")
    if form.validate_on_submit():
        try:
            totp.remove_totp(db.session(), _user(), form.password.data or "")
        except changes.TwoFactorError as exc:
            _show(form, exc)
        else:
            flash(_("The authenticator app is removed from your account."), "success")
            return redirect(url_for("twofactor.security"))
    return _security_page(400, totp_remove_form=form)


@bp.route("/security/recovery-codes", methods=["GET", "POST"])
@login_required
@manage_limit
def recovery_codes() -> ResponseReturnValue:
    user = _user()
    s = db.session()
    form = RecoveryGenerateForm()
    back = _next()
    existing = recovery.password_needed(s, user)
    http_status = 200
    if request.method == "POST":
        valid = form.validate_on_submit()
        if not valid and not existing and set(form.errors) == {"password"}:
            # The password is neither shown nor asked for before the first set:
            # an error about it (a hand-made POST) would be invisible.
            form.password.errors = []
            valid = True
        if valid:
            try:
                codes = recovery.new_set(s, user, form.password.data)
            except changes.TwoFactorError as exc:
                _show(form, exc)
            else:
                return _new_codes_page(user, codes, back)
        http_status = 400
    return (
        render_template(
            "twofactor/recovery_codes.html",
            form=form,
            left=status.recovery_codes_left(s, user),
            low=recovery.recovery_codes_low(s, user),
            existing=existing,
            saved=status.recovery_codes_saved(s, user),
            enabled=status.has_2fa(user),
            back=back,
        ),
        http_status,
    )


def _new_codes_page(user: User, codes: list[str], back: str | None) -> ResponseReturnValue:
    """The new set, once: to download, print or copy, then one typed back to confirm."""
    site = current_app.config["SITE_NAME"]
    response = current_app.make_response(
        render_template(
            "twofactor/recovery_codes_new.html",
            codes=codes,
            back=back,
            text=recovery.as_text(
                codes, site_name=site, username=user.username, made_at=clock.now()
            ),
            download_name=recovery.download_name(site, user.username),
            confirm_form=RecoveryConfirmForm(),
        )
    )
    # Shown once: never kept by a cache, and not offered again by the Back button.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/security/recovery-codes/confirm", methods=["GET", "POST"])
@login_required
@manage_limit
def recovery_confirm() -> ResponseReturnValue:
    """Type one code back: only then does the set count as saved."""
    user = _user()
    s = db.session()
    back = _next()
    if not status.has_recovery_codes(s, user):
        flash(_("You have no recovery codes to confirm yet: create a set first."), "info")
        return redirect(url_for("twofactor.recovery_codes", next=back))
    form = RecoveryConfirmForm()
    http_status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            if recovery.confirm_saved(s, user, form.code.data or ""):
                flash(_("Your recovery codes are saved: keep them away from your keys."), "success")
                return redirect(back or url_for("twofactor.security"), 303)
            form.code.errors = [
                _(
                    "That is not one of your unused recovery codes. Look at the codes you saved "
                    "(letters and digits, in four groups) and type one of them."
                )
            ]
        http_status = 400
    return (
        render_template(
            "twofactor/recovery_codes_confirm.html",
            form=form,
            saved=status.recovery_codes_saved(s, user),
            back=back,
        ),
        http_status,
    )


# --- the second step of sign-in ----------------------------------------------------------


def _pending() -> signin.Pending | None:
    try:
        return signin.load(db.session())
    except signin.Expired:
        return None


def _expired_redirect() -> ResponseReturnValue:
    flash(_("Your sign-in took too long or was interrupted. Please sign in again."), "warning")
    return redirect(url_for("accounts.login"))


def _finish(pending: signin.Pending, method: str) -> str:
    accounts_service.record_login(db.session(), pending.user, method=method)
    start_session(pending.user)
    flash(_("Signed in as %(username)s.", username=pending.user.username), "success")
    return pending.next_url


def _challenge_page(
    pending: signin.Pending, http_status: int = 200, **forms: Any
) -> ResponseReturnValue:
    s = db.session()
    return (
        render_template(
            "twofactor/challenge.html",
            user=pending.user,
            has_keys=status.key_count(s, pending.user) > 0,
            has_totp=status.has_totp(pending.user),
            has_recovery=status.has_recovery_codes(s, pending.user),
            totp_form=forms.get("totp_form") or SignInTotpForm(),
            recovery_form=forms.get("recovery_form") or SignInRecoveryForm(),
            show_recovery=forms.get("show_recovery", False),
        ),
        http_status,
    )


def _json_expired() -> ResponseReturnValue:
    """The JSON answer (for the key ceremony's fetches) when the pending sign-in is gone."""
    flash(_("Your sign-in took too long or was interrupted. Please sign in again."), "warning")
    return _json_error(
        _("Your sign-in took too long. Please sign in again."),
        401,
        redirect=url_for("accounts.login"),
    )


@bp.get("/login/2fa")
def challenge() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("accounts.account"))
    pending = _pending()
    if pending is None:
        return _expired_redirect()
    return _challenge_page(pending)


@bp.post("/login/2fa/webauthn/options")
@options_limit_ip
@options_limit_user
def signin_options() -> ResponseReturnValue:
    pending = _pending()
    if pending is None:
        return _json_expired()
    try:
        options, challenge = keys.authentication_options(db.session(), pending.user)
    except changes.TwoFactorError as exc:
        return _json_error(exc.message)
    challenges.store(challenges.SIGN_IN, challenge, pending.user.id)
    return Response(options, mimetype="application/json")


@bp.post("/login/2fa/webauthn")
@signin_limit_ip
@signin_limit_user
def signin_webauthn() -> ResponseReturnValue:
    pending = _pending()
    if pending is None:
        return _json_expired()
    body = _json_body()
    if body is None:
        return _json_error(_("The browser's answer could not be read. Please try again."))
    s = db.session()
    try:
        challenge = challenges.take(s, challenges.SIGN_IN, pending.user.id)
        keys.verify_key_signin(s, pending.user, body.get("credential"), challenge)
    except changes.TwoFactorError as exc:
        return _json_error(exc.message)
    return jsonify({"ok": True, "redirect": _finish(pending, "webauthn")})


@bp.post("/login/2fa/totp")
@signin_limit_ip
@signin_limit_user
def signin_totp() -> ResponseReturnValue:
    pending = _pending()
    if pending is None:
        return _expired_redirect()
    form = SignInTotpForm()
    if form.validate_on_submit():
        if totp.verify_totp(db.session(), pending.user, form.code.data or ""):
            return redirect(_finish(pending, "totp"))
        form.code.errors = [
            _(
                "That code is not right, or it was already used. "
                "Wait for the next code and try again."
            )
        ]
    return _challenge_page(pending, 400, totp_form=form)


@bp.post("/login/2fa/recovery")
@signin_limit_ip
@signin_limit_user
def signin_recovery() -> ResponseReturnValue:
    pending = _pending()
    if pending is None:
        return _expired_redirect()
    form = SignInRecoveryForm()
    if form.validate_on_submit():
        if recovery.use_recovery_code(db.session(), pending.user, form.recovery_code.data or ""):
            user = pending.user
            target = _finish(pending, "recovery_code")
            left = status.recovery_codes_left(db.session(), user)
            flash(
                ngettext(
                    "You used a recovery code; %(num)s left. If you lost your key or phone, "
                    "remove it and add a new one now.",
                    "You used a recovery code; %(num)s left. If you lost your key or phone, "
                    "remove it and add a new one now.",
                    left,
                ),
                "warning",
            )
            low = recovery.recovery_codes_low(db.session(), user)
            return redirect(url_for("twofactor.security") if low else target)
        form.recovery_code.errors = [_("That recovery code is not right, or it was already used.")]
    return _challenge_page(pending, 400, recovery_form=form, show_recovery=True)


@bp.post("/login/2fa/cancel")
def signin_cancel() -> ResponseReturnValue:
    signin.cancel()
    return redirect(url_for("accounts.login"))
