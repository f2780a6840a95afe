"""/admin/: the dashboard, users (with account recovery), compliance, events."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from giveaway import clock, csvexport, db
from giveaway.accounts.models import User
from giveaway.admin import insight, mandate, service
from giveaway.admin.forms import Reset2FAForm
from giveaway.admin.plots import Series, bar_chart, line_chart
from giveaway.claims.claim import claimed_code
from giveaway.claims.eligibility import critical_projects
from giveaway.events import service as events
from giveaway.events.models import Event
from giveaway.pagination import paginate, parse_page
from giveaway.twofactor import reset
from giveaway.twofactor.access import admin_required
from giveaway.twofactor.changes import TwoFactorError
from giveaway.twofactor.status import methods

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin", cli_group=None)


@bp.app_template_global()
def mandate_banner() -> dict[str, str] | None:
    """The 2FA mandate banner for the signed-in user (computed once a request)."""
    if "mandate_banner" not in g:
        g.mandate_banner = None
        try:
            if current_user.is_authenticated:
                g.mandate_banner = mandate.banner(db.session(), current_user)
        except SQLAlchemyError:
            # An error page after a database failure must still render.
            logger.warning("mandate banner skipped: the database query failed", exc_info=True)
    return g.mandate_banner


def _actor() -> User:
    return current_user._get_current_object()


def _export(
    filename: str, header: list[str], rows: list[list[object]], what: str
) -> ResponseReturnValue:
    """A CSV download, recorded as an admin action (exports carry personal data)."""
    events.record(db.session(), "admin:exported", None, actor=_actor(), what=what, rows=len(rows))
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return csvexport.response(f"{filename}-{stamp}.csv", header, rows)


# --- the dashboard -----------------------------------------------------------------


@bp.get("/")
@admin_required
def dashboard() -> ResponseReturnValue:
    session = db.session()
    now = clock.now()
    batches = insight.pool(session, now)
    claims = insight.claims_per_day(session, now)
    burn = insight.burn_down(session, now)
    funnel = insight.funnel(session, now)
    adoption = insight.adoption(session)
    history = insight.adoption_history(session, now)
    plots = {
        "claims": line_chart(
            "Claims per day",
            [Series("Claims", claims)],
            description="Promo codes claimed on each day (UTC).",
            y_label="claims",
        ),
        "burn": line_chart(
            "Codes available over time",
            [Series("Available codes", burn)],
            description="Codes left in the pool at the end of each day: the pool's burn-down.",
            y_label="codes",
        ),
        "funnel": bar_chart(
            "From eligible to protected",
            funnel.stages(),
            description="Eligible maintainers, then how many claimed a code, registered a "
            "first and a second security key, and saved recovery codes.",
        ),
        "adoption": line_chart(
            "2FA among critical maintainers",
            [
                Series(
                    "Any 2FA (%)",
                    [(s.day, insight.percent(s.with_any, s.maintainers)) for s in history],
                ),
                Series(
                    "Security key (%)",
                    [(s.day, insight.percent(s.with_key, s.maintainers)) for s in history],
                ),
                Series(
                    "Authenticator app (%)",
                    [(s.day, insight.percent(s.with_totp, s.maintainers)) for s in history],
                ),
            ],
            description="Share of the maintainers of critical projects with 2FA, from the "
            "daily snapshots, by method.",
            y_label="% of maintainers",
        ),
    }
    return render_template(
        "admin/dashboard.html",
        now=now,
        batches=batches,
        claims=claims,
        burn=burn,
        funnel=funnel,
        adoption=adoption,
        history=history,
        plots=plots,
        percent=insight.percent,
        mandate_scope=mandate.scope(),
        claims_total=sum(n for _, n in claims),
        over_time=[(day, n, left) for (day, n), (_, left) in zip(claims, burn, strict=True)],
    )


@bp.get("/pool.csv")
@admin_required
def pool_csv() -> ResponseReturnValue:
    rows = insight.pool_rows(insight.pool(db.session(), clock.now()))
    return _export("pool", insight.POOL_HEADER, rows, "pool")


@bp.get("/funnel.csv")
@admin_required
def funnel_csv() -> ResponseReturnValue:
    funnel = insight.funnel(db.session(), clock.now())
    rows: list[list[object]] = [[label, value] for label, value in funnel.stages()]
    return _export("funnel", ["stage", "maintainers"], rows, "funnel")


@bp.get("/adoption.csv")
@admin_required
def adoption_csv() -> ResponseReturnValue:
    history = insight.adoption_history(db.session(), clock.now())
    return _export("adoption", insight.ADOPTION_HEADER, insight.adoption_rows(history), "adoption")


@bp.get("/over-time.csv")
@admin_required
def over_time_csv() -> ResponseReturnValue:
    session = db.session()
    now = clock.now()
    claims = dict(insight.claims_per_day(session, now))
    rows: list[list[object]] = [
        [day, claims.get(day, 0), available] for day, available in insight.burn_down(session, now)
    ]
    return _export("claims-over-time", ["day", "claims", "codes_available"], rows, "over_time")


# --- users --------------------------------------------------------------------------

USERS_HEADER = [
    "username",
    "email",
    "email_verified_at",
    "is_admin",
    "first_2fa_enabled_at",
    "created_at",
]


@bp.get("/users")
@admin_required
def users() -> ResponseReturnValue:
    session = db.session()
    query = request.args.get("q", "")[:254]
    if request.args.get("format") == "csv":
        rows: list[list[object]] = [
            [
                u.username,
                u.email,
                u.email_verified_at,
                u.is_admin,
                u.first_2fa_enabled_at,
                u.created_at,
            ]
            for u in session.scalars(service.search_users(query).limit(100_000))
        ]
        return _export("users", USERS_HEADER, rows, "users")
    page = paginate(session, service.search_users(query), parse_page(request.args.get("page")))
    return render_template("admin/users.html", page=page, q=query)


def _user_page(
    user: User, form: Reset2FAForm | None = None, status: int = 200
) -> ResponseReturnValue:

    session = db.session()
    recent = session.scalars(
        service.events_query(service.EventFilter(username=user.username)).limit(20)
    ).all()
    return (
        render_template(
            "admin/user.html",
            user=user,
            roles=service.user_roles(session, user),
            critical=critical_projects(session, user),
            methods=methods(session, user),
            claim=claimed_code(session, user),
            events=recent,
            reset_form=form or Reset2FAForm(),
        ),
        status,
    )


def _get_user(user_id: int) -> User:
    user = db.session().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users/<int:user_id>")
@admin_required
def user_detail(user_id: int) -> ResponseReturnValue:
    return _user_page(_get_user(user_id))


@bp.post("/users/<int:user_id>/reset-2fa")
@admin_required
def reset_2fa(user_id: int) -> ResponseReturnValue:
    """Account recovery: remove every 2FA method once the admin typed the username."""

    user = _get_user(user_id)
    form = Reset2FAForm()
    if not form.validate_on_submit():
        return _user_page(user, form, 400)
    try:
        removed = reset.confirmed_reset(
            db.session(), user, _actor(), form.confirm_username.data or ""
        )
    except TwoFactorError as refused:
        form.confirm_username.errors = [refused.message]
        return _user_page(user, form, 400)
    flash(
        f"Two-factor authentication of {user.username} is reset ({removed.security_keys} "
        f"security keys, {'an' if removed.totp else 'no'} authenticator app removed). "
        "They were emailed and signed out everywhere.",
        "success",
    )
    return redirect(url_for("admin.user_detail", user_id=user.id), 303)


# --- compliance ------------------------------------------------------------------------


@bp.get("/compliance")
@admin_required
def compliance() -> ResponseReturnValue:
    session = db.session()
    scope = mandate.compliance_scope()
    query = mandate.compliance_query(scope)
    if request.args.get("format") == "csv":
        roles = list(session.scalars(query.limit(100_000)).unique())
        return _export(
            "compliance",
            mandate.COMPLIANCE_HEADER,
            mandate.compliance_rows(session, roles),
            "compliance",
        )
    page = paginate(session, query, parse_page(request.args.get("page")))
    page.items = list(page.items)
    return render_template(
        "admin/compliance.html",
        page=page,
        zip_rows=list(zip(page.items, mandate.compliance_rows(session, page.items), strict=True)),
        mandate_scope=mandate.scope(),
        scope=scope,
        reminder_days=mandate.reminder_days(),
    )


# --- events ------------------------------------------------------------------------------

EVENT_HEADER = ["when", "kind", "user", "actor", "ip_address", "detail"]


def _event_row(event: Event) -> list[object]:
    return [
        event.created_at,
        event.kind,
        event.user.username if event.user else "",
        event.actor.username if event.actor else "",
        event.ip_address or "",
        ", ".join(f"{k}={v}" for k, v in sorted((event.detail or {}).items())),
    ]


@bp.get("/events", endpoint="events")
@admin_required
def events_page() -> ResponseReturnValue:
    session = db.session()
    flt = service.EventFilter.from_args(request.args)
    status = 400 if flt.errors else 200
    if flt.errors:
        flt = service.EventFilter(username=flt.username, kind=flt.kind, errors=flt.errors)
    query = service.events_query(flt)
    if request.args.get("format") == "csv" and not flt.errors:
        rows = [_event_row(e) for e in session.scalars(query.limit(100_000))]
        return _export("events", EVENT_HEADER, rows, "events")
    page = paginate(session, query, parse_page(request.args.get("page")))
    return (
        render_template(
            "admin/events.html",
            page=page,
            flt=flt,
            kinds=service.event_kinds(session),
            row=_event_row,
        ),
        status,
    )
