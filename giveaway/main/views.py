from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue

from giveaway import db, scripts
from giveaway.extensions import limiter

bp = Blueprint("main", __name__)


@bp.app_context_processor
def script_words() -> dict[str, object]:
    """`script_messages()`: what base.html hands the browser scripts, translated."""
    return {"script_messages": scripts.block}


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("main/index.html")


@bp.get("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    if db.ping():
        return jsonify(status="ok", database="ok")
    return jsonify(status="unavailable", database="unreachable"), 503
