from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from giveaway import db
from giveaway.extensions import limiter

bp = Blueprint("main", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("main/index.html")


@bp.get("/healthz")
@limiter.exempt
def healthz():  # type: ignore[no-untyped-def]
    if db.ping():
        return jsonify(status="ok", database="ok")
    return jsonify(status="unavailable", database="unreachable"), 503
