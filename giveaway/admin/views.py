from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from giveaway import csvexport, db
from giveaway.accounts.models import User
from giveaway.admin import service
from giveaway.admin.access import admin_required
from giveaway.events.models import Event
from giveaway.pagination import paginate, parse_page

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def dashboard():  # type: ignore[no-untyped-def]
    return render_template("admin/dashboard.html")


@bp.get("/users")
@admin_required
def users():  # type: ignore[no-untyped-def]
    query = request.args.get("q", "")[:254]
    page = paginate(db.session(), service.search_users(query), parse_page(request.args.get("page")))
    return render_template("admin/users.html", page=page, q=query)


@bp.get("/users/<int:user_id>")
@admin_required
def user_detail(user_id: int):  # type: ignore[no-untyped-def]
    session = db.session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    recent = session.scalars(
        service.events_query(service.EventFilter(username=user.username)).limit(20)
    ).all()
    return render_template(
        "admin/user.html", user=user, roles=service.user_roles(session, user), events=recent
    )


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


@bp.get("/events")
@admin_required
def events():  # type: ignore[no-untyped-def]
    session = db.session()
    flt = service.EventFilter.from_args(request.args)
    status = 400 if flt.errors else 200
    if flt.errors:
        flt = service.EventFilter(username=flt.username, kind=flt.kind, errors=flt.errors)
    query = service.events_query(flt)
    if request.args.get("format") == "csv" and not flt.errors:
        rows = (_event_row(e) for e in session.scalars(query.limit(100_000)))
        return csvexport.response("events.csv", EVENT_HEADER, rows)
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
