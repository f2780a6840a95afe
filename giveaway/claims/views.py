"""/giveaway: the eligibility checklist, the claim, the code and the FAQ.

The region answer of the claim form decides one thing (can keys be shipped
there) and is then dropped: it is not stored, not put in the session, a flash
message, an event or a log line.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask import session as cookie_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user

from giveaway import clock, db, signals
from giveaway.accounts import limits
from giveaway.accounts.forms import ResendVerificationForm
from giveaway.accounts.service import lock_account
from giveaway.claims import claim as claiming
from giveaway.claims import eligibility, regions, restock, walkthrough
from giveaway.claims.forms import ClaimForm, NotifyForm, SignInAgainForm

bp = Blueprint("giveaway", __name__, url_prefix="/giveaway", cli_group=None)


def _claim_rate_key() -> str:
    # Per person when signed in: many maintainers may share one office address.
    if current_user.is_authenticated:
        return f"claim:user:{current_user.id}"
    return f"claim:ip:{get_remote_address()}"


def _page(
    status: int = 200, *, form: ClaimForm | None = None, region_refused: bool = False
) -> ResponseReturnValue:
    session = db.session()
    user = current_user._get_current_object() if current_user.is_authenticated else None
    now = clock.now()
    result = eligibility.check(session, user, now)
    waiting = False
    walk = None
    if user is not None and result.claimed is not None:
        walk = walkthrough.steps(session, user, result.claimed)
    if user is not None:
        waiting = restock.is_waiting(session, user)
    return (
        render_template(
            "claims/index.html",
            result=result,
            now=now,
            form=form or ClaimForm(eligibility.eligible_regions()),
            notify_form=NotifyForm(),
            waiting_for_codes=waiting,
            region_refused=region_refused,
            walk=walk,
            setup_link=url_for("giveaway.setup"),
            security_link=url_for("twofactor.security"),
            eligible_names=[
                name for code, name in regions.choices(eligibility.eligible_regions())[:-1]
            ],
        ),
        status,
    )


@bp.get("")
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/claim")
# Counted before the sign-in is required, as every attempt is; in one round trip.
@limits.in_one_trip("RATELIMIT_CLAIM", _claim_rate_key)
@login_required
def claim() -> ResponseReturnValue:
    session = db.session()
    user = current_user._get_current_object()
    now = clock.now()
    form = ClaimForm(eligibility.eligible_regions())
    valid = form.validate_on_submit()  # checks the CSRF token first
    # Turning 2FA on in another tab takes the same lock: the claim sees it, or
    # it waits for the claim, so the record never shows a claim after 2FA.
    lock_account(session, user)
    result = eligibility.check(session, user, now)
    if result.claimed is not None:
        signals.claim("already")
        return redirect(url_for("giveaway.index", _anchor="your-code"), 303)
    if not result.eligible:
        signals.claim_refused(result)
        # The page lists what failed; the region was not even looked at (an
        # error about it would not show: the form is only shown to the eligible).
        if result.only_pool_empty:
            flash(_("No code was claimed: every code has been handed out."), "error")
            return _page(409)
        flash(_("No code was claimed: the checks marked as not met say why."), "error")
        return _page(403)
    if not valid:
        signals.claim("refused", "form")
        return _page(400, form=form)
    # The one decision the region is used for; the value goes no further.
    ships = eligibility.ships_to(form.region.data)
    form.region.data = None
    if not ships:
        signals.claim("refused", "region")
        return _page(200, region_refused=True)
    outcome = claiming.claim(session, user, now)
    signals.claim(outcome.status, batch_id=outcome.code.batch_id if outcome.code else None)
    if outcome.status == "empty":
        flash(
            _("Sorry: the last code was just claimed. You can ask to be told when codes return."),
            "warning",
        )
        return redirect(url_for("giveaway.index", _anchor="out-of-codes"), 303)
    if outcome.new:
        flash(_("Your code is ready. We also emailed you a receipt."), "success")
    return redirect(url_for("giveaway.index", _anchor="your-code"), 303)


@bp.post("/notify")
@limits.in_one_trip("RATELIMIT_CLAIM", _claim_rate_key)
@login_required
def notify() -> ResponseReturnValue:
    form = NotifyForm()
    if not form.validate_on_submit():
        abort(400)
    session = db.session()
    user = current_user._get_current_object()
    result = eligibility.check(session, user, clock.now())
    if result.claimed is not None:
        return redirect(url_for("giveaway.index"), 303)
    try:
        restock.ask(session, user, result, clock.now())
    except restock.NotHeldBackByThePool as refused:
        return _page(409 if refused.codes_available else 403)
    flash(_("We will email %(email)s when codes are available again.", email=user.email), "success")
    return redirect(url_for("giveaway.index", _anchor="out-of-codes"), 303)


@bp.get("/setup")
@login_required
def setup() -> ResponseReturnValue:
    user = current_user._get_current_object()
    return render_template(
        "claims/setup.html",
        walk=walkthrough.steps(db.session(), user),
        now=clock.now(),
        resend_form=ResendVerificationForm(),
        sign_in_form=SignInAgainForm(),
        security_link=url_for("twofactor.security"),
    )


@bp.post("/setup/sign-in-again")
@login_required
def setup_sign_in() -> ResponseReturnValue:
    """The walkthrough's test: sign out, then sign in with a key and come back."""
    if not SignInAgainForm().validate_on_submit():
        abort(400)
    logout_user()
    cookie_session.clear()
    flash(_("You are signed out. Sign in with your password, then use one of your keys."), "info")
    return redirect(url_for("accounts.login", next=url_for("giveaway.setup")), 303)
