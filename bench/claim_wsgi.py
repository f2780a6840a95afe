"""The portal as gunicorn serves it for bench/claim.py, plus a bare endpoint to compare with.

Settings come from the environment (GIVEAWAY_DATABASE_URL, GIVEAWAY_SECRET_KEY,
GIVEAWAY_RATELIMIT_STORAGE_URI, …) as in production, rate limits on; the bare
endpoint does no work at all.
"""

import functools

from giveaway import create_app
from giveaway.extensions import csrf

app = create_app()


@app.get("/_bench/bare")
def bare():  # type: ignore[no-untyped-def]
    return "ok"


@app.post("/_bench/claim-sql")
@csrf.exempt
def claim_sql():  # type: ignore[no-untyped-def]
    """The floor of any claim over HTTP: the claim statement and its commit, nothing else
    (no session, no CSRF, no eligibility, no receipt). Used by bench/claim.py only."""
    from datetime import UTC, datetime

    from flask import request

    sql, fixed = _claim_sql()
    uid = int(request.args["uid"])
    connection = app.extensions["db.engine"].raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql, dict(fixed, claimant_id=uid, claim_now=datetime.now(UTC).replace(tzinfo=None))
            )
            row = cursor.fetchone()
        connection.commit()
    finally:
        connection.close()
    return row[1] if row else ""


@functools.cache
def _claim_sql():  # type: ignore[no-untyped-def]
    from bench.claim import _raw_sql

    return _raw_sql()
