"""/admin/batches and /admin/claims: the pool, uploads (upload → preview → confirm), voids, claims."""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import deadline, export, lifecycle, pool
from giveaway.claims.forms import ConfirmUploadForm, UploadForm, VoidForm
from giveaway.claims.models import PromoBatch, PromoCode, mask
from giveaway.events import service as events
from giveaway.twofactor.access import admin_required

bp = Blueprint("claims_admin", __name__, url_prefix="/admin")

CLAIMS_SHOWN = 200


@bp.app_template_filter("expiry")
def expiry_filter(value: datetime | None, short: bool = False) -> str:
    """A code's expiry, said one way on every page and email (deadline.describe).
    Registered for the whole app: the code panel and the emails use it too."""
    return deadline.describe(value, short=short)


def _admin() -> User:
    return current_user._get_current_object()


def _preview_max_age() -> timedelta:
    return timedelta(seconds=current_app.config["CODE_UPLOAD_PREVIEW_MAX_AGE"])


def _batches_page(
    status: int = 200,
    *,
    upload_form: UploadForm | None = None,
    void_form: VoidForm | None = None,
) -> ResponseReturnValue:
    session = db.session()
    now = clock.now()
    batches = session.scalars(
        select(PromoBatch).order_by(PromoBatch.expires_at, PromoBatch.id)
    ).all()
    counts = pool.batch_counts(session, now)
    empty = lifecycle.empty_counts()
    totals = {k: sum(counts.get(b.id, empty)[k] for b in batches) for k in empty}
    return (
        render_template(
            "claims_admin/batches.html",
            batches=batches,
            counts=counts,
            empty=empty,
            totals=totals,
            now=now,
            upload_form=upload_form or UploadForm(data=_kept_details()),
            kept=upload_form is None and bool(_kept_details()),
            void_form=void_form or VoidForm(),
            max_bytes=current_app.config["CODE_UPLOAD_MAX_BYTES"],
            giveaway_zone=deadline.zone_label(),
        ),
        status,
    )


@bp.get("/batches")
@admin_required
def batches() -> ResponseReturnValue:
    return _batches_page()


# The upload form's fields a preview's "Back" link carries (never the file).
KEPT_FIELDS = ("name", "vendor", "store_url", "keys_per_code", "expires")


def _kept_details() -> dict[str, Any]:
    """What the admin entered before going to the preview, from the "Back" link's query.
    A prefill, not input: anything unreadable is left out (the form checks on upload)."""
    kept: dict[str, Any] = {}
    for name in ("name", "vendor", "store_url"):
        value = request.args.get(name, "").strip()
        if value:
            kept[name] = value[:500]
    keys = request.args.get("keys_per_code", "")
    if keys.isdigit() and 1 <= int(keys) <= 10:
        kept["keys_per_code"] = int(keys)
    with contextlib.suppress(ValueError):
        kept["expires"] = date.fromisoformat(request.args.get("expires", ""))
    return kept


def back_link(details: pool.BatchDetails) -> str:
    """The batches page with the upload form filled in as it was sent."""
    values: dict[str, Any] = {
        "name": details.name,
        "vendor": details.vendor,
        "store_url": details.store_url or "",
        "keys_per_code": details.keys_per_code,
        "expires": deadline.last_day(details.expires_at).isoformat(),
    }
    return url_for(
        "claims_admin.batches", **{k: v for k, v in values.items() if v}, _anchor="upload"
    )


def _preview(report: pool.Report, details: pool.BatchDetails, filename: str, **extra: Any) -> str:
    return render_template(
        "claims_admin/preview.html",
        report=report,
        details=details,
        filename=filename,
        back_link=back_link(details),
        **extra,
    )


def _details(form: UploadForm) -> pool.BatchDetails:
    """The batch a validated upload form describes."""
    expires = form.expires.data
    assert expires is not None  # InputRequired: a valid form has its date
    return pool.BatchDetails(
        name=(form.name.data or "").strip(),
        vendor=(form.vendor.data or "").strip(),
        keys_per_code=int(form.keys_per_code.data or 0),
        expires_at=pool.expiry_from_date(expires),
        store_url=pool.clean_store_url(form.store_url.data),
    )


@bp.post("/batches/upload")
@admin_required
def upload() -> ResponseReturnValue:
    form = UploadForm()
    if not form.validate_on_submit():
        return _batches_page(400, upload_form=form)
    session = db.session()
    now = clock.now()
    max_bytes = current_app.config["CODE_UPLOAD_MAX_BYTES"]
    raw = form.file.data.stream.read(max_bytes + 1)
    details = _details(form)
    report = pool.validate(session, raw, details, now, max_bytes=max_bytes)
    filename = form.file.data.filename or "upload"
    if not report.ok:
        return _preview(report, details, filename), 400
    preview = pool.stage_upload(session, report, details, _admin(), now, _preview_max_age())
    return _preview(report, details, filename, confirm_form=ConfirmUploadForm(token=preview.token))


@bp.post("/batches/confirm")
@admin_required
def confirm_upload() -> ResponseReturnValue:
    form = ConfirmUploadForm()
    if not form.validate_on_submit():
        flash("That confirmation form was not valid. Upload the file again.", "error")
        return _batches_page(400)
    session = db.session()
    now = clock.now()
    admin = _admin()
    preview = pool.staged_upload(session, form.token.data or "", admin, now, _preview_max_age())
    if preview is None:
        flash("This preview has expired or was already used. Upload the file again.", "error")
        return _batches_page(400)
    try:
        done = pool.confirm_upload(session, preview, admin, now)
    except IntegrityError:
        session.rollback()
        flash(
            "Another upload added some of these codes at the same moment. Nothing was added.",
            "error",
        )
        return _batches_page(409)
    batch = done.batch
    if batch is None:
        return _preview(done.report, done.details, "(preview)"), 400
    flash(f"Batch {batch.name} added with {batch.code_count:,} codes.", "success")
    return redirect(url_for("claims_admin.batches"), 303)


@bp.post("/codes/void")
@admin_required
def void_code() -> ResponseReturnValue:
    form = VoidForm()
    if not form.validate_on_submit():
        return _batches_page(400, void_form=form)
    try:
        code = pool.void(
            db.session(), form.code.data or "", form.reason.data or "", _admin(), clock.now()
        )
    except pool.VoidRefused as refused:
        form.code.errors = [refused.message]
        return _batches_page(409 if refused.conflict else 400, void_form=form)
    flash(f"Code {mask(code.code)} is voided.", "success")
    return redirect(url_for("claims_admin.batches"), 303)


@bp.get("/claims")
@admin_required
def claims() -> ResponseReturnValue:
    session = db.session()
    total = session.scalar(select(func.count()).where(PromoCode.is_claimed)) or 0
    rows = session.execute(
        select(PromoCode, User.username, PromoBatch.name)
        .join(User, User.id == PromoCode.claimed_by_id)
        .join(PromoBatch, PromoBatch.id == PromoCode.batch_id)
        .order_by(PromoCode.claimed_at.desc(), PromoCode.id.desc())
        .limit(CLAIMS_SHOWN)
    ).all()
    return render_template("claims_admin/claims.html", rows=rows, total=total, shown=CLAIMS_SHOWN)


@bp.get("/claims.csv")
@admin_required
def claims_csv() -> ResponseReturnValue:
    session = db.session()
    body, count = export.as_text(session)
    events.record(
        session,
        "claim:claims_exported",
        None,
        actor=current_user._get_current_object(),
        claims=count,
        via="admin",
    )
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="claims-{stamp}.csv"'},
    )
