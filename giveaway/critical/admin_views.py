"""Admin pages: the critical projects (with CSV export) and the download imports."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from giveaway import csvexport, db
from giveaway.critical import listing, service
from giveaway.twofactor.access import admin_required

bp = Blueprint("critical_admin", __name__, url_prefix="/admin")


@bp.app_template_global()
def critical_projects_of_current_user() -> list[service.CriticalInfo]:
    """For the account page: the signed-in maintainer's critical projects."""
    if not current_user.is_authenticated:
        return []
    return service.critical_projects_of(db.session(), current_user.id)


@bp.app_template_global()
def critical_percent() -> str:
    """The CRITICAL_PERCENT setting as people write it: "1", "0.5"."""
    return f"{float(current_app.config['CRITICAL_PERCENT']):g}"


def _bad_query(exc: listing.BadQuery, template: str) -> tuple[str, int]:
    return render_template(template, error=str(exc), page=None, query="", sort="rank"), 400


@bp.get("/critical")
@admin_required
def projects() -> ResponseReturnValue:
    query = request.args.get("q", "")[:200]
    try:
        page = listing.parse_page(request.args.get("page"))
        sort, descending = listing.parse_sort(request.args.get("sort"), request.args.get("order"))
    except listing.BadQuery as exc:
        return _bad_query(exc, "critical/admin_projects.html")
    result = listing.critical_page(
        db.session(), query=query, sort=sort, descending=descending, page=page
    )
    return render_template(
        "critical/admin_projects.html",
        page=result,
        query=query,
        sort=sort,
        descending=descending,
        error=None,
    )


@bp.get("/critical.csv")
@admin_required
def projects_csv() -> ResponseReturnValue:
    return csvexport.response(
        "critical-projects.csv", service.CSV_HEADER, service.critical_projects(db.session())
    )


@bp.get("/imports")
@admin_required
def imports() -> ResponseReturnValue:
    try:
        page = listing.parse_page(request.args.get("page"))
    except listing.BadQuery as exc:
        return render_template("critical/admin_imports.html", error=str(exc), page=None), 400
    result = listing.imports_page(db.session(), page=page)
    return render_template("critical/admin_imports.html", page=result, error=None)
