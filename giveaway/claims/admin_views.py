"""/admin/batches and /admin/claims: the pool, uploads (upload → preview → confirm), voids, claims."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from giveaway import clock, db
from giveaway.accounts.models import User
from giveaway.claims import export, pool
from giveaway.claims.forms import ConfirmUploadForm, UploadForm, VoidForm
from giveaway.claims.models import PromoBatch, PromoCode, UploadPreview, mask
from giveaway.events import service as events
from giveaway.twofactor.access import admin_required

bp = Blueprint("claims_admin", __name__, url_prefix="/admin")

CLAIMS_SHOWN = 200


def _batches_page(status=200, *, upload_form=None, void_form=None):  # type: ignore[no-untyped-def]
    session = db.session()
    now = clock.now()
    batches = session.scalars(
        select(PromoBatch).order_by(PromoBatch.expires_at, PromoBatch.id)
    ).all()
    counts = pool.batch_counts(session, now)
    empty = {"available": 0, "claimed": 0, "expired": 0, "voided": 0}
    totals = {k: sum(counts.get(b.id, empty)[k] for b in batches) for k in empty}
    return (
        render_template(
            "claims_admin/batches.html",
            batches=batches,
            counts=counts,
            empty=empty,
            totals=totals,
            now=now,
            upload_form=upload_form or UploadForm(),
            void_form=void_form or VoidForm(),
            max_bytes=current_app.config["CODE_UPLOAD_MAX_BYTES"],
        ),
        status,
    )


@bp.get("/batches")
@admin_required
def batches():  # type: ignore[no-untyped-def]
    return _batches_page()


def _details(form: UploadForm) -> pool.BatchDetails:
    return pool.BatchDetails(
        name=(form.name.data or "").strip(),
        vendor=(form.vendor.data or "").strip(),
        keys_per_code=int(form.keys_per_code.data or 0),
        expires_at=pool.expiry_from_date(form.expires.data),
    )


@bp.post("/batches/upload")
@admin_required
def upload():  # type: ignore[no-untyped-def]
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
        return render_template(
            "claims_admin/preview.html", report=report, details=details, filename=filename
        ), 400
    # Old previews nobody confirmed are of no use to anyone.
    max_age = timedelta(seconds=current_app.config["CODE_UPLOAD_PREVIEW_MAX_AGE"])
    session.execute(delete(UploadPreview).where(UploadPreview.created_at < now - max_age))
    preview = UploadPreview(
        token=secrets.token_urlsafe(32),
        created_by_id=current_user.id,
        created_at=now,
        batch_name=details.name,
        vendor=details.vendor,
        keys_per_code=details.keys_per_code,
        expires_at=details.expires_at,
        content="\n".join(report.codes),
    )
    session.add(preview)
    return render_template(
        "claims_admin/preview.html",
        report=report,
        details=details,
        filename=filename,
        confirm_form=ConfirmUploadForm(token=preview.token),
    )


@bp.post("/batches/confirm")
@admin_required
def confirm_upload():  # type: ignore[no-untyped-def]
    form = ConfirmUploadForm()
    if not form.validate_on_submit():
        flash("That confirmation form was not valid. Upload the file again.", "error")
        return _batches_page(400)
    session = db.session()
    now = clock.now()
    max_age = timedelta(seconds=current_app.config["CODE_UPLOAD_PREVIEW_MAX_AGE"])
    preview = session.scalar(
        select(UploadPreview).where(
            UploadPreview.token == form.token.data,
            UploadPreview.created_by_id == current_user.id,
            UploadPreview.created_at >= now - max_age,
        )
    )
    if preview is None:
        flash("This preview has expired or was already used. Upload the file again.", "error")
        return _batches_page(400)
    details = pool.BatchDetails(
        preview.batch_name, preview.vendor, preview.keys_per_code, preview.expires_at
    )
    # Check again: another batch may have taken a name or a code since the preview.
    report = pool.validate(
        session,
        preview.content.encode(),
        details,
        now,
        max_bytes=max(len(preview.content.encode()), 1),
    )
    if not report.ok:
        return render_template(
            "claims_admin/preview.html", report=report, details=details, filename="(preview)"
        ), 400
    try:
        batch = pool.add_batch(
            session, report.codes, details, current_user._get_current_object(), now
        )
        session.delete(preview)
        session.flush()
    except IntegrityError:
        session.rollback()
        flash(
            "Another upload added some of these codes at the same moment. Nothing was added.",
            "error",
        )
        return _batches_page(409)
    flash(f"Batch {batch.name} added with {batch.code_count:,} codes.", "success")
    return redirect(url_for("claims_admin.batches"), 303)


@bp.post("/codes/void")
@admin_required
def void_code():  # type: ignore[no-untyped-def]
    form = VoidForm()
    if not form.validate_on_submit():
        return _batches_page(400, void_form=form)
    session = db.session()
    value = form.code.data.strip()
    code = session.scalar(select(PromoCode).where(PromoCode.code == value))
    problem = None
    if code is None:
        problem = "There is no such code."
    elif code.voided_at is not None:
        problem = "This code is already voided."
    elif code.claimed_by_id is not None:
        problem = "This code was claimed; a claimed code stays with its claimant."
    if problem:
        form.code.errors = [problem]
        return _batches_page(400, void_form=form)
    assert code is not None
    # Conditional: a claim landing at the same moment wins, the void does not.
    result = session.execute(
        PromoCode.__table__.update()
        .where(
            PromoCode.id == code.id,
            PromoCode.claimed_by_id.is_(None),
            PromoCode.voided_at.is_(None),
        )
        .values(voided_at=clock.now(), void_reason=form.reason.data.strip())
    )
    if not result.rowcount:
        form.code.errors = ["This code was claimed a moment ago; it was not voided."]
        return _batches_page(409, void_form=form)
    events.record(
        session,
        "claim:code_voided",
        None,
        actor=current_user._get_current_object(),
        code=mask(code.code),
        batch_id=code.batch_id,
        reason=form.reason.data.strip(),
    )
    flash(f"Code {mask(code.code)} is voided.", "success")
    return redirect(url_for("claims_admin.batches"), 303)


@bp.get("/claims")
@admin_required
def claims():  # type: ignore[no-untyped-def]
    session = db.session()
    total = session.scalar(select(func.count()).where(PromoCode.claimed_by_id.is_not(None))) or 0
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
def claims_csv():  # type: ignore[no-untyped-def]
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
